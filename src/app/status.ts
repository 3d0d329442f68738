/** `status`: what is stored, staged, seeded and applied on this node, and the WAN bytes peers saved. */
import type { AppEnv } from './env.ts';
import { bytesBySource, type Bytes } from './bytes.ts';
import { loadNodeContext } from './node-context.ts';
import { freeSpace, storeSize } from '../store/free-space.ts';
import { readStoredImages } from '../store/images.ts';
import { readState } from '../store/node-state.ts';
import { listStaged } from '../unpack/staging.ts';
import { readKairosVersion } from '../upgrade/kairos-release.ts';

export interface StatusImage {
  image: string;
  manifest: string;
  size: number;
  bytes: Bytes;
  staged: { rootfs: string; version: string | null } | null;
  seeded: { digest: string; at: string } | null;
}

export interface AppliedUpgrade {
  image: string;
  manifest: string;
  version: string | null;
  recovery: boolean;
  at: string;
  result: 'applied' | 'failed';
}

export interface StatusResult {
  /** The Kairos version the node runs (its /etc/kairos-release), null when it has none. */
  installed: string | null;
  store: string;
  /** Bytes of the store's files, partial downloads included. */
  store_size: number;
  /** Bytes available on the store's filesystem. */
  store_free: number;
  images: StatusImage[];
  /** Oldest first, the last 20. */
  applied: AppliedUpgrade[];
  /** Every pull so far. */
  bytes: Bytes;
}

export async function nodeStatus(env: AppEnv): Promise<StatusResult> {
  const ctx = await loadNodeContext(env);
  const storeDir = env.root.path(ctx.agent.store.path);
  const { stats, images } = await readStoredImages(storeDir);
  // The path, not stage-image's helper: importing that module would load the pull engine (undici) with status.
  const staged = await listStaged(env.root.path(ctx.agent.upgrade.staging_path));
  const state = await readState(env.root.path(ctx.agent.upgrade.state_file));
  const installed = await readKairosVersion(env.root.path('/'));
  const rows = await Promise.all(
    images.map(async (i): Promise<StatusImage> => {
      const s = staged.find((x) => x.manifest === i.manifest.digest);
      return {
        image: i.ref,
        manifest: i.manifest.digest,
        size: i.size,
        bytes: bytesBySource(i.bytes),
        staged: s ? { rootfs: s.rootfs, version: (await readKairosVersion(s.rootfs))?.triple ?? null } : null,
        seeded: state.seeded[i.ref] ?? null,
      };
    }),
  );
  return {
    installed: installed?.triple ?? null,
    store: ctx.agent.store.path,
    store_size: await storeSize(storeDir),
    store_free: await freeSpace(storeDir),
    images: rows,
    applied: state.applied.map((a) => ({ image: a.ref, manifest: a.manifest, version: a.version ?? null, recovery: a.recovery, at: a.at, result: a.result })),
    bytes: bytesBySource(stats.total),
  };
}
