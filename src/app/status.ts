/** `status`: what is stored, staged, seeded and applied on this node, and the WAN bytes peers saved. */
import type { AppEnv } from './env.ts';
import { bytesBySource, type Bytes } from './bytes.ts';
import { pullInProgress, type InProgress } from './in-progress.ts';
import { loadNodeContext } from './node-context.ts';
import { stagingBase } from './stage-image.ts';
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
  images: StatusImage[];
  /** Oldest first, the last 20. */
  applied: AppliedUpgrade[];
  /** Every pull so far. */
  bytes: Bytes;
  /** A pull another run is doing on the store now. */
  in_progress: InProgress | null;
}

export async function nodeStatus(env: AppEnv): Promise<StatusResult> {
  const ctx = await loadNodeContext(env);
  const { stats, images } = await readStoredImages(env.root.path(ctx.agent.store.path));
  const staged = await listStaged(stagingBase({ root: env.root, agent: ctx.agent }));
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
    images: rows,
    applied: state.applied.map((a) => ({ image: a.ref, manifest: a.manifest, version: a.version ?? null, recovery: a.recovery, at: a.at, result: a.result })),
    bytes: bytesBySource(stats.total),
    in_progress: await pullInProgress(env.root.path(ctx.agent.store.path)),
  };
}
