/**
 * Registry and transfer failures, each with a stable code: the pull engine decides by it
 * whether another source (or a later attempt) may succeed.
 */
import { AgentError } from '../errors.ts';

export type RegistryErrorCode =
  | 'E_MANIFEST' // malformed or unsupported manifest
  | 'E_PLATFORM' // no image for the wanted platform
  | 'E_NOT_FOUND' // 404: this source does not have it (yet)
  | 'E_UNAUTHORIZED' // 401/403 after authenticating
  | 'E_RATE_LIMITED' // 429/503 (with Retry-After)
  | 'E_HTTP' // other unexpected status, or not HTTP at all
  | 'E_NETWORK' // connection refused, reset, timeout
  | 'E_STALLED' // slower than the stall threshold
  | 'E_DIGEST' // content does not match its digest
  | 'E_SIZE'; // content longer or shorter than its descriptor

/** What a registry said about a failure: one entry of its error body (`{"errors":[{"code","message"}]}`, distribution spec). */
export interface RegistryDiagnostic {
  /** The registry's own code: DENIED, TOOMANYREQUESTS, MANIFEST_UNKNOWN, ... */
  code: string;
  message: string;
}

export class RegistryError extends AgentError {
  override readonly code: RegistryErrorCode;
  /** Seconds the server asked us to wait (Retry-After). */
  readonly retryAfterMs?: number;
  /** Bytes a broken transfer delivered before it broke: a source that makes progress is worth resuming. */
  readonly transferred?: number;
  /** The registry's error body, when it sent one; empty otherwise. */
  readonly registryErrors: readonly RegistryDiagnostic[];

  constructor(code: RegistryErrorCode, message: string, hint?: string, opts: { retryAfterMs?: number; transferred?: number; registryErrors?: readonly RegistryDiagnostic[]; cause?: unknown } = {}) {
    super(code, message, { hint, cause: opts.cause });
    this.code = code;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.transferred !== undefined) this.transferred = opts.transferred;
    this.registryErrors = opts.registryErrors ?? [];
  }
}

export function isRegistryError(err: unknown, ...codes: RegistryErrorCode[]): err is RegistryError {
  return err instanceof RegistryError && (codes.length === 0 || codes.includes(err.code));
}
