/**
 * The pull in progress, for `status` and `images`: the run that holds the store lock
 * writes `pulling.json` beside it every few seconds (atomically) and removes it when the
 * pull ends. A reader trusts it only while its writer is alive and is the one the lock file
 * names: a holder killed with -9 leaves a file that nothing shows, and the next pull
 * replaces it.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { pidAlive } from '../fs/pid-alive.ts';
import { readOwnJson } from '../fs/read-json.ts';
import { namedHolderPids } from './lock.ts';
import type { ByRole } from './transfer-stats.ts';

export interface PullProgressState {
  image: string;
  /** What the reference resolved to, once known. */
  digest: string | null;
  done: number;
  /** Bytes of the image's blobs, once the manifests are known. */
  total: number | null;
  /** This run's bytes, by source. */
  bytes: ByRole;
  started_at: string;
  updated_at: string;
  pid: number;
}

const FILE = 'pulling.json';

/**
 * Writes `state()` now and every `everyMs` until `stop()`, one write at a time; `stop()`
 * waits for the write under way and removes the file. A failed write only costs that update.
 */
export function publishPullProgress(storeDir: string, state: () => PullProgressState, onError: (err: unknown) => void, everyMs = 2000): { stop(): Promise<void> } {
  const file = path.join(storeDir, FILE);
  let writing: Promise<void> | undefined;
  const tick = () => {
    writing ??= writeFileAtomic(file, `${JSON.stringify(state())}\n`)
      .catch(onError)
      .finally(() => {
        writing = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await writing;
      await unlink(file).catch(() => undefined);
    },
  };
}

function isState(v: Record<string, unknown>): v is Record<string, unknown> & PullProgressState {
  const bytes = v['bytes'] as Record<string, unknown> | null | undefined;
  return (
    typeof v['image'] === 'string' &&
    typeof v['pid'] === 'number' &&
    typeof v['done'] === 'number' &&
    typeof v['started_at'] === 'string' &&
    typeof v['updated_at'] === 'string' &&
    (v['total'] === null || typeof v['total'] === 'number') &&
    (v['digest'] === null || typeof v['digest'] === 'string') &&
    typeof bytes?.['mirror'] === 'number' &&
    typeof bytes['upstream'] === 'number'
  );
}

/** The pull a live process is running on this store, or null. */
export async function readPullProgress(storeDir: string): Promise<PullProgressState | null> {
  const state = await readOwnJson(path.join(storeDir, FILE));
  if (!state || !isState(state) || !pidAlive(state.pid)) return null;
  // A live pid that the lock file does not name as its holder is a reused pid.
  if (!(await namedHolderPids(storeDir)).includes(state.pid)) return null;
  const { image, digest, done, total, bytes, started_at, updated_at, pid } = state;
  return { image, digest, done, total, bytes: { mirror: bytes.mirror, upstream: bytes.upstream }, started_at, updated_at, pid };
}
