/** Bytes by where they came from, as every --json document names them. */
import type { ByRole } from '../store/transfer-stats.ts';

export interface Bytes {
  from_peers: number;
  from_upstream: number;
}

export function bytesBySource(b: ByRole): Bytes {
  return { from_peers: b.mirror, from_upstream: b.upstream };
}
