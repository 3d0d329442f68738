/** SIGINT/SIGTERM abort long work cleanly (locks released, partial downloads kept for resume). */
import { AgentError } from '../errors.ts';

export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  // 128 + the signal's number, as a shell reports a process the signal ended.
  const onSignal = (sig: NodeJS.Signals) =>
    ac.abort(new AgentError('E_INTERRUPTED', `interrupted by ${sig}`, { exitCode: sig === 'SIGINT' ? 130 : 143, hint: 'run the same command again: it resumes where it stopped' }));
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
