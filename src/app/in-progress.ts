/** The pull another run is doing on this store right now, as `status` and `images` show it. */
import { bytesBySource, type Bytes } from './bytes.ts';
import { readPullProgress } from '../store/pull-progress.ts';
import { formatBytes } from '../util/units.ts';

export interface InProgress {
  image: string;
  digest: string | null;
  done: number;
  total: number | null;
  /** That run's bytes so far. */
  bytes: Bytes;
  started_at: string;
  updated_at: string;
  pid: number;
}

export async function pullInProgress(storeDir: string): Promise<InProgress | null> {
  const p = await readPullProgress(storeDir);
  return p ? { ...p, bytes: bytesBySource(p.bytes) } : null;
}

/** "pulling IMAGE: 45% (300 MiB of 660 MiB), 120 MiB from peers, 180 MiB from upstream, since ..., pid N" */
export function describeInProgress(p: InProgress): string {
  const share = p.total ? `${Math.floor((p.done / p.total) * 100)}% (${formatBytes(p.done)} of ${formatBytes(p.total)})` : 'resolving';
  return `pulling ${p.image}: ${share}, ${formatBytes(p.bytes.from_peers)} from peers, ${formatBytes(p.bytes.from_upstream)} from upstream, since ${p.started_at} (pid ${p.pid})`;
}
