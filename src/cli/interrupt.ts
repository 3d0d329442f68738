/** SIGINT/SIGTERM abort long work cleanly (locks released, partial downloads kept for resume). */
import { InterruptedError } from '../errors.ts';

export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => ac.abort(new InterruptedError(sig));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(ac.signal);
  } catch (err) {
    if (ac.signal.aborted) throw ac.signal.reason;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
