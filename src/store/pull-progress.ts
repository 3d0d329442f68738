/**
 * The pull in progress, for `status` and `images`: the run that holds the store lock
 * writes `pulling.json` beside it every few seconds (atomically) and removes it when the
 * pull ends. A reader trusts it only while its writer is alive and is the one the lock file
 * names: a holder killed with -9 leaves a file that nothing shows, and the next pull
 * replaces it.
 */
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { pidAlive } from '../fs/pid-alive.ts';
import { readOwnJson } from '../fs/read-json.ts';
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

export function writePullProgress(storeDir: string, state: PullProgressState): Promise<void> {
  return writeFileAtomic(path.join(storeDir, FILE), `${JSON.stringify(state)}\n`);
}

export async function removePullProgress(storeDir: string): Promise<void> {
  await unlink(path.join(storeDir, FILE)).catch(() => undefined);
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
  // The lock file's text names its holder (store/lock): a live pid that no longer holds the lock is a reused pid.
  const holder = await readFile(path.join(storeDir, 'lock'), 'utf8').catch(() => '');
  if (!holder.split('\n').some((l) => l.startsWith(`kairos-spegel pid ${state.pid} `))) return null;
  const { image, digest, done, total, bytes, started_at, updated_at, pid } = state;
  return { image, digest, done, total, bytes: { mirror: bytes.mirror, upstream: bytes.upstream }, started_at, updated_at, pid };
}
