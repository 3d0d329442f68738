/**
 * One writer at a time for the store, the staging area and the upgrade: flock(2) on a lock
 * file, through the native addon (Node has no flock). The kernel holds the lock for the open
 * file and drops it when the last descriptor to it closes, so a holder killed with -9, in
 * any pid namespace, leaves nothing to clean up, a reboot leaves nothing stale, and two
 * takers can never both win. The file's text names the holder for the message of whoever
 * finds it taken; nothing is decided from it. The file stays: removing it would let a
 * second taker lock a new file while the first still holds the old one.
 */
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import type { NativeAddon } from '../native/addon.ts';

export interface Lock {
  /** The descriptor that holds the lock: a child given it (spawn stdio) keeps it locked until it exits too. */
  readonly fd: number;
  /** Adds a line to what the lock file says about its holders (for the next run's message). */
  note(line: string): Promise<void>;
  release(): Promise<void>;
}

export async function acquireLock(dir: string, what: string, native: NativeAddon): Promise<Lock> {
  const file = path.join(dir, 'lock');
  const fh = await open(file, constants.O_RDWR | constants.O_CREAT, 0o644);
  let taken: boolean;
  try {
    taken = native.flockTry(fh.fd);
  } catch (err) {
    await fh.close();
    throw err;
  }
  if (!taken) {
    await fh.close();
    const holders = (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
    throw new AgentError('E_LOCKED', `${what} is in use${holders.length ? `: ${holders.join('; ')}` : ''}`, {
      hint: 'wait for it to finish (runs on the same store are serialized); the lock is free once every process named here has exited',
    });
  }
  await fh.truncate(0);
  let at = 0;
  const append = async (line: string) => {
    const { bytesWritten } = await fh.write(`${line}\n`, at);
    at += bytesWritten;
  };
  await append(`kairos-spegel pid ${process.pid} since ${new Date().toISOString()}`);
  return { fd: fh.fd, note: append, release: () => fh.close() };
}
