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

const SYSTEM_HINTS: Record<string, string> = {
  ENOSPC: "the filesystem is full: free space ('kairos-spegel gc' removes old images), or move store.path / upgrade.staging_path to a larger one",
  EDQUOT: 'the disk quota is used up: free space, or move store.path / upgrade.staging_path',
  EROFS: 'the filesystem is read-only here: store.path and upgrade.staging_path must be on a writable one (the persistent partition)',
  EACCES: 'permission denied: run kairos-spegel as root',
  EPERM: 'operation not permitted: run kairos-spegel as root',
  EIO: 'the disk reported an I/O error: check it (dmesg)',
  ENOENT: 'a file disappeared while the agent used it (something else removed it?); run the command again',
};

/**
 * An operating-system error (a Node fs or child-process error: errno code and syscall) as
 * the agent reports it: its message, no stack trace, and what to do. Undefined for
 * anything else, which stays an internal error.
 */
export function systemError(err: unknown): AgentError | undefined {
  const code = errnoCode(err);
  if (code === undefined || !/^E[A-Z0-9]+$/.test(code) || !(err instanceof Error) || !('syscall' in err)) return undefined;
  return new AgentError('E_SYSTEM', err.message, { hint: SYSTEM_HINTS[code] ?? 'an operating-system call failed; see the message', cause: err });
}
