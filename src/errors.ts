/**
 * The error catalogue: every failure the agent reports has one of these codes, and the
 * code alone decides the exit status. `--json` output and README promise both, so a code
 * is never renamed within a major version; scripts branch on exit codes, people read the
 * meaning. Classification anywhere in the agent goes by code or errno, never by message.
 */

export const EXIT_OK = 0;
/** The command ran and failed: network, registry, disk, kairos-agent. */
export const EXIT_FAILURE = 1;
/** The command line or the configuration is wrong: nothing was attempted. */
export const EXIT_USAGE = 2;
/** health: the mirror works, with problems (an endpoint down, stale configuration, a trap). */
export const EXIT_DEGRADED = 3;
/** health: no mirror endpoint answers, or none is configured. */
export const EXIT_UNHEALTHY = 4;
/** Another run holds the store, staging area or upgrade: try again later. */
export const EXIT_LOCKED = 5;
/** Interrupted by SIGINT (130) or SIGTERM (143), as a shell reports it; the next run resumes. */
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

export const ERROR_CODES = {
  E_USAGE: { exit: EXIT_USAGE, meaning: 'the command line is wrong: unknown command or option, a missing or malformed argument' },
  E_CONFIG: { exit: EXIT_USAGE, meaning: 'a file the agent reads is wrong (cloud-config, hosts.toml, registries.yaml, a credentials or TLS file); `problems` gives file:line:col and key' },
  E_NO_NODE_IP: { exit: EXIT_FAILURE, meaning: 'no usable node IP for the mirror address (the interface has none yet, or node_ip is unusable)' },
  E_K0S_VERSION: { exit: EXIT_FAILURE, meaning: "k0s' version, which decides the drop-in's form, could not be read" },
  E_READ: { exit: EXIT_FAILURE, meaning: 'a file the agent must read could not be read (permissions, I/O)' },
  E_ROOT: { exit: EXIT_FAILURE, meaning: 'a path under --root could not be resolved inside it (a symlink loop)' },
  E_MANIFEST: { exit: EXIT_FAILURE, meaning: 'a registry sent a manifest or index that is malformed or of an unsupported type' },
  E_PLATFORM: { exit: EXIT_FAILURE, meaning: 'the image has no manifest for the wanted platform' },
  E_NOT_FOUND: { exit: EXIT_FAILURE, meaning: 'no source has the image or blob (404 everywhere the policy allows asking)' },
  E_UNAUTHORIZED: { exit: EXIT_FAILURE, meaning: 'the registry refused the credentials, or wants some (401/403; its DENIED/UNAUTHORIZED message is quoted)' },
  E_RATE_LIMITED: { exit: EXIT_FAILURE, meaning: "the registry asks to slow down (429/503, TOOMANYREQUESTS); retried after its Retry-After within the run's limits" },
  E_HTTP: { exit: EXIT_FAILURE, meaning: 'an HTTP answer the agent cannot use: another status, a malformed response, a redirect it does not follow' },
  E_NETWORK: { exit: EXIT_FAILURE, meaning: 'a connection failed: refused, reset, timed out, TLS handshake failed' },
  E_STALLED: { exit: EXIT_FAILURE, meaning: 'a source sent slower than pull.stall_bytes_per_sec for pull.stall_after' },
  E_DIGEST: { exit: EXIT_FAILURE, meaning: 'content does not hash to its digest; it was discarded, never stored' },
  E_SIZE: { exit: EXIT_FAILURE, meaning: 'content is longer or shorter than its descriptor says' },
  E_HASH: { exit: EXIT_FAILURE, meaning: 'a partial download could not be hashed (it changed under the agent)' },
  E_STORE: { exit: EXIT_FAILURE, meaning: 'a file of the image store is damaged (index.json, a manifest)' },
  E_NO_SPACE: { exit: EXIT_FAILURE, meaning: 'not enough free space for the image in the store or staging area' },
  E_UNPACK: { exit: EXIT_FAILURE, meaning: 'a layer cannot be unpacked safely (a path leaving the root filesystem, a malformed tar)' },
  E_SEED: { exit: EXIT_FAILURE, meaning: "the image could not be imported into the node's containerd" },
  E_NO_RELEASE: { exit: EXIT_FAILURE, meaning: 'the staged image has no /etc/kairos-release: not a Kairos image (--force applies it anyway)' },
  E_KAIROS_AGENT: { exit: EXIT_FAILURE, meaning: 'kairos-agent could not be started, or the upgrade it ran failed' },
  E_NATIVE: { exit: EXIT_FAILURE, meaning: 'the native addon (flock, xattrs, hashing) is missing or cannot be loaded' },
  E_SYSTEM: { exit: EXIT_FAILURE, meaning: 'an operating-system call failed (errno in the message: ENOSPC, EACCES, EIO, ...)' },
  E_LOCKED: { exit: EXIT_LOCKED, meaning: 'another run holds the store, staging area or upgrade (its pid is named)' },
  E_INTERRUPTED: { exit: EXIT_SIGTERM, meaning: 'stopped by SIGINT (exit 130) or SIGTERM (exit 143); the next run resumes' },
  E_INTERNAL: { exit: EXIT_FAILURE, meaning: 'a bug in the agent: please report it with the stack trace' },
} as const satisfies Record<string, { exit: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AgentError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  /** A sentence telling the user what to do about it, printed after the message. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = ERROR_CODES[code].exit;
    if (opts.hint !== undefined) this.hint = opts.hint;
  }
}

/** Bad command line: unknown command or option, missing argument. */
export class UsageError extends AgentError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, hint === undefined ? {} : { hint });
  }
}

/** SIGINT or SIGTERM stopped the work; the exit status says which. */
export class InterruptedError extends AgentError {
  override readonly exitCode: number;

  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super('E_INTERRUPTED', `interrupted by ${signal}`, { hint: 'run the same command again: it resumes where it stopped' });
    this.exitCode = signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
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
    super('E_CONFIG', problems.map(formatProblem).join('\n'), hint === undefined ? {} : { hint });
    this.problems = problems;
  }
}

function formatProblem(p: ConfigProblem): string {
  return `${formatLocation(p.at)}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

/** The node's system is not in a state the command can work with (no IP, unreadable file, ...). */
export class SystemError extends AgentError {
  constructor(code: ErrorCode, message: string, hint?: string, cause?: unknown) {
    super(code, message, { ...(hint === undefined ? {} : { hint }), cause });
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
