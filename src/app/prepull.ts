/** `prepull`: the image into the node's store, from peers first; then seeded, and staged on request. */
import type { AppEnv } from './env.ts';
import { bytesBySource, type Bytes } from './bytes.ts';
import { loadNodeContext } from './node-context.ts';
import { resolvePull, type PullRequest } from './pull-request.ts';
import { unpackStored } from './stage-image.ts';
import { errorMessage } from '../errors.ts';
import { prepull } from '../pull/prepull.ts';
import { formatPlatform } from '../registry/manifest.ts';
import { Seeding } from '../seed/seed.ts';
import { listImages } from '../store/images.ts';
import { OciStore } from '../store/oci-store.ts';
import { TransferStats } from '../store/transfer-stats.ts';

export interface PrepullRequest extends PullRequest {
  /** Also unpack it into the staging area, so that upgrade only applies it. */
  unpack: boolean;
}

export interface PrepullReport {
  image: string;
  /** What the reference resolved to (an index or a manifest). */
  digest: string;
  /** The platform's image manifest. */
  manifest: string;
  platform: string;
  policy: string;
  store: string;
  /** Bytes of the image (config and layers). */
  size: number;
  blobs: { downloaded: number; present: number };
  /** This run. */
  bytes: Bytes;
  /** Every run for this image so far. */
  bytes_total: Bytes;
  seconds: number;
  /** The digest containerd now holds, when seeded. */
  seeded: string | null;
  /** The staged root filesystem, with unpack. */
  staged: string | null;
  /** Prepulled, but a later step failed (seeding): the command exits 1. */
  problem: string | null;
}

export async function prepullImage(env: AppEnv, req: PrepullRequest): Promise<PrepullReport> {
  const { log, root } = env;
  const ctx = await loadNodeContext(env);
  const pull = resolvePull(req, ctx.agent);
  const pullEnv = { root, agent: ctx.agent, layout: ctx.layout, log, progress: env.tty ? { tty: env.tty } : {}, ...(env.signal ? { signal: env.signal } : {}) };
  const store = await OciStore.open(root.path(ctx.agent.store.path));
  const seeding = pull.seed ? new Seeding({ root, layout: ctx.layout, store, log, platform: formatPlatform(pull.platform) }, root.path(ctx.agent.upgrade.state_file)) : undefined;
  let r;
  try {
    r = await prepull({ ...pullEnv, ...(seeding ? { onPending: seeding.onPending } : {}) }, pull);
  } catch (err) {
    seeding?.cancel();
    throw err;
  }
  log.info({ image: r.ref, manifest: r.manifest.digest, from_mirror: r.transferred.mirror, from_upstream: r.transferred.upstream, seconds: r.seconds }, 'prepulled');

  const image = (await listImages(store, await TransferStats.load(store.dir))).find((i) => i.ref === r.ref)!;
  const report: PrepullReport = {
    image: r.ref,
    digest: r.digest,
    manifest: r.manifest.digest,
    platform: r.platform,
    policy: r.policy,
    store: r.store,
    size: r.size,
    blobs: r.layers,
    bytes: bytesBySource(r.transferred),
    bytes_total: bytesBySource(r.total),
    seconds: r.seconds,
    seeded: null,
    staged: null,
    problem: null,
  };
  if (seeding) {
    try {
      report.seeded = (await seeding.finish(image))?.digest ?? null;
    } catch (err) {
      report.problem = `prepulled, but seeding failed: ${errorMessage(err)}`;
      log.error({}, report.problem);
    }
  }
  env.signal?.throwIfAborted();
  if (req.unpack) report.staged = (await unpackStored(pullEnv, store, image)).rootfs;
  return report;
}
