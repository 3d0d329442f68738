/** Deadlines for the registry exchanges whose size is bounded. */
import { RegistryError } from '../errors.ts';

/**
 * Runs an exchange of bounded size (a manifest, a tag's digest) under a deadline for the
 * whole of it, headers and body: undici's idle timeouts alone let a source that sends a
 * byte a second hold the agent forever. Past the deadline the source has stalled
 * (E_STALLED); the caller's own abort (a signal) stays what it is.
 */
export async function withDeadline<T>(what: string, ms: number, signal: AbortSignal | undefined, exchange: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(ms);
  try {
    return await exchange(signal ? AbortSignal.any([signal, deadline]) : deadline);
  } catch (err) {
    if (deadline.aborted && !signal?.aborted) throw new RegistryError('E_STALLED', `${what}: no complete answer within ${ms / 1000}s`);
    throw err;
  }
}
