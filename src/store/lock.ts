/**
 * One writer at a time for the store, the staging area and the upgrade: flock(2) on a lock
 * file, through the native addon (Node has no flock). The kernel holds the lock for the open
 * file and drops it when the last descriptor to it closes, so a holder killed with -9, in
 * any pid namespace, leaves nothing to clean up, a reboot leaves nothing stale, and two
 * takers can never both win. The file's text names the holder for the message of whoever
 * finds it taken; nothing is decided from it. The file stays: removing it would let a
 * second taker lock a new file while the first still holds the old one. A run asked to
 * (store.lock_wait) tries again until the lock is free or its time is up.
 */
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import { pidAlive } from '../fs/pid-alive.ts';
import type { Logger } from '../log/logger.ts';
import type { NativeAddon } from '../native/addon.ts';

export interface Lock {
  /** The descriptor that holds the lock: a child given it (spawn stdio) keeps it locked until it exits too. */
  readonly fd: number;
  /** Adds a line to what the lock file says about its holders (for the next run's message). */
  note(line: string): Promise<void>;
  release(): Promise<void>;
}

export interface LockWait {
  /** How long to wait for a lock another process holds (store.lock_wait); 0: E_LOCKED at once. */
  waitMs?: number;
  /** Ends the wait (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Told once, when the wait begins. */
  log?: Logger;
}

/** How often a waiting run tries again: flock(2) has no timeout, and a blocked thread would hold the process past a signal. */
const RETRY_MS = 250;

export async function acquireLock(dir: string, what: string, native: NativeAddon, wait: LockWait = {}): Promise<Lock> {
  const file = path.join(dir, 'lock');
  const waitMs = wait.waitMs ?? 0;
  const deadline = Date.now() + waitMs;
  const holders = async () => {
    // A holder names itself just after it takes the lock; until then the file still says what
    // an earlier holder wrote (a process since gone, a leftover from before a reboot). Give it
    // that moment, up to 2 s on a busy machine, before naming whatever the file says.
    for (let i = 0; ; i++) {
      const named = (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
      if (named.some(namesLiveHolder) || i === 100) return named;
      await sleep(20);
    }
  };
  for (let tries = 0; ; tries++) {
    const lock = await tryLock(file, native);
    if (lock) return lock;
    if (tries === 0 && waitMs > 0) wait.log?.info({ lock: what, holders: await holders(), wait_s: waitMs / 1000 }, `waiting for ${what}: another run holds it`);
    if (Date.now() >= deadline) {
      const held = await holders();
      throw new AgentError('E_LOCKED', `${what} is in use${waitMs > 0 ? ` (waited ${waitMs / 1000} s)` : ''}${held.length ? `: ${held.join('; ')}` : ''}`, {
        hint: 'wait for it to finish (runs on the same store are serialized), or set kairos-spegel.store.lock_wait; the lock is free once every process named here has exited',
      });
    }
    await sleep(Math.min(RETRY_MS, Math.max(0, deadline - Date.now())), undefined, wait.signal ? { signal: wait.signal } : {});
  }
}

const HOLDER_LINE = /^kairos-spegel pid (\d+) since /;

const holderPid = (line: string): number | undefined => {
  const pid = HOLDER_LINE.exec(line)?.[1];
  return pid === undefined ? undefined : Number(pid);
};

function namesLiveHolder(line: string): boolean {
  const pid = holderPid(line);
  return pid !== undefined && pidAlive(pid);
}

/** The kairos-spegel runs the lock file in `dir` names as its holders: what it says, which only the kernel's lock makes true. */
export async function namedHolderPids(dir: string): Promise<number[]> {
  const text = await readFile(path.join(dir, 'lock'), 'utf8').catch(() => '');
  return text.split('\n').flatMap((l) => holderPid(l) ?? []);
}

async function tryLock(file: string, native: NativeAddon): Promise<Lock | undefined> {
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
    return undefined;
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
