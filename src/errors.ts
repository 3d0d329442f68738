/**
 * Error types shared by every command. Each carries a stable `code` (for --json
 * and for tests) and the exit code the CLI returns for it, so a command never
 * has to map errors to exit codes itself.
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class AgentError extends Error {
  readonly code: string;
  readonly exitCode: number;
  /** A sentence telling the user what to do about it, printed after the message. */
  readonly hint?: string;

  constructor(code: string, message: string, opts: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = opts.exitCode ?? EXIT_FAILURE;
    this.hint = opts.hint;
  }
}

/** Bad command line: unknown command or option, missing argument. */
export class UsageError extends AgentError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, { exitCode: EXIT_USAGE, hint });
  }
}

/** Where in which file a configuration value came from. */
export interface SourceLocation {
  file: string;
  line?: number;
  col?: number;
}

export function formatLocation(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return `${loc.file}:${loc.line}${loc.col === undefined ? '' : `:${loc.col}`}`;
}

export interface ConfigProblem {
  at: SourceLocation;
  /** Dotted key path such as `kairos-spegel.mirror.ports[1]`. */
  key: string;
  message: string;
}

/** One or more problems in configuration the agent reads (cloud-config, hosts.toml, ...). */
export class ConfigError extends AgentError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], hint?: string) {
    super('E_CONFIG', problems.map(formatProblem).join('\n'), { exitCode: EXIT_USAGE, hint });
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${formatLocation(p.at)}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

/** The node's system is not in a state the command can work with (no IP, unreadable file, ...). */
export class SystemError extends AgentError {
  constructor(code: string, message: string, hint?: string, cause?: unknown) {
    super(code, message, { exitCode: EXIT_FAILURE, hint, cause });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `errno` code of a Node system error, if it is one. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
