/**
 * prepull: an image into the node's store, from its peers through the node's mirror
 * when they have it, from the upstream registry when the WAN policy allows. Order of
 * durability: blobs first, then the manifests, then index.json, so the store never
 * names an image it does not fully hold.
 */
import type { Digest } from '../registry/digest.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import { errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import type { Logger } from '../log/logger.ts';
import type { Layout } from '../mirror/layout.ts';
import { addonDir, nativeAddon, type NativeAddon } from '../native/addon.ts';
import { CredentialStore } from './credentials.ts';
import { formatPlatform, selectPlatform, type Descriptor, type Platform } from '../registry/manifest.ts';
import { formatImageRef, type ImageRef } from '../registry/reference.ts';
import type { SourceRole } from '../registry/source.ts';
import { ensureFreeSpace } from '../store/free-space.ts';
import { acquireLock } from '../store/lock.ts';
import { ANNOTATIONS, OciStore } from '../store/oci-store.ts';
import { PendingImage } from '../store/pending-image.ts';
import { TransferStats, type ByRole } from '../store/transfer-stats.ts';
import { downloadBlob } from './blob-download.ts';
import { fetchIndexMetadata, fetchManifest, resolveDigest, type IndexMetadata } from './manifests.ts';
import { Progress, type ProgressOptions } from './progress.ts';
import { RateLimiter } from './rate-limiter.ts';
import { Slots } from './slots.ts';
import { buildSources, closeSources, warnUnreachableLoopbackMirrors } from './sources.ts';
import type { WalkContext } from './source-walker.ts';
import { formatUpstreamPolicy, type UpstreamPolicy } from '../config/upstream-policy.ts';
import { stat } from 'node:fs/promises';
import { formatDuration } from '../util/duration.ts';
import { publishPullProgress } from '../store/pull-progress.ts';

export interface PrepullRequest {
  ref: ImageRef;
  platform: Platform;
  policy: UpstreamPolicy;
  /** Hash every blob the store already holds, not only check its size. */
  verify?: boolean;
}

export interface PrepullResult {
  /** The reference as stored (index.json ref.name). */
  ref: string;
  /** What the reference resolved to (an index or a manifest). */
  digest: Digest;
  /** The platform's image manifest. */
  manifest: Descriptor;
  platform: string;
  policy: string;
  store: string;
  /** Bytes of the image (config and layers). */
  size: number;
  /** Bytes this run took, by role; `total` is every run for this image so far. */
  transferred: ByRole;
  total: ByRole;
  layers: { present: number; downloaded: number };
  seconds: number;
}

export interface PrepullEnv {
  root: Root;
  agent: AgentConfig;
  layout: Layout;
  log: Logger;
  progress: Omit<ProgressOptions, 'log'>;
  signal?: AbortSignal;
  /** Told once the manifests are known, before the blobs download: the image as it lands. */
  onPending?: (image: PendingImage) => void;
}

/** Runs `tasks` with at most `limit` at once; fails with the first error after all settle. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (err) {
        errors.push(err);
        next = items.length; // no new work after a failure
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/** The native addon hashes downloads on another core; without it (a noexec filesystem) the main thread does. */
function hashingAddon(env: PrepullEnv): NativeAddon | undefined {
  try {
    return nativeAddon(addonDir(env.root, env.agent.store.path));
  } catch (err) {
    env.log.debug({ reason: errorMessage(err) }, 'hashing downloads on the main thread');
    return undefined;
  }
}

export function storedRefName(ref: ImageRef): string {
  return ref.tag ? formatImageRef({ ...ref, digest: undefined }) : formatImageRef(ref);
}

export async function prepull(env: PrepullEnv, req: PrepullRequest): Promise<PrepullResult> {
  const started = Date.now();
  const { root, agent, log } = env;
  const refName = storedRefName(req.ref);
  const store = await OciStore.open(root.path(agent.store.path));
  const lock = await acquireLock(store.dir, `the image store ${agent.store.path}`, nativeAddon(addonDir(root, agent.store.path)), {
    waitMs: agent.store.lock_wait,
    log,
    ...(env.signal ? { signal: env.signal } : {}),
  });
  const stats = await TransferStats.load(store.dir);
  const afterMs = req.policy.mode === 'after' ? req.policy.afterMs : undefined;
  const upstreamOpensAt = afterMs !== undefined ? started + afterMs : undefined;
  const progress = new Progress({ ...env.progress, log, ...(upstreamOpensAt !== undefined ? { upstreamOpensAt } : {}) });
  const transferred: ByRole = { mirror: 0, upstream: 0 };
  const count = (role: SourceRole, n: number) => {
    transferred[role] += n;
    stats.add(refName, role, n);
    progress.add(role, n);
  };
  let digestKnown: string | null = null;
  const saver = setInterval(() => void stats.save().catch(() => undefined), 5000);
  saver.unref();
  const credentials = await CredentialStore.load(root, agent);
  const { sources, hostsFile } = await buildSources(root, env.layout.hostsDir, req.ref.registry, credentials, agent.pull.stall_after);
  // status and images show this pull while it runs.
  const publisher = publishPullProgress(
    store.dir,
    () => {
      const p = progress.snapshot();
      return {
        image: refName,
        digest: digestKnown,
        done: p.done,
        total: p.total ?? null,
        bytes: transferred,
        started_at: new Date(started).toISOString(),
        updated_at: new Date().toISOString(),
        pid: process.pid,
      };
    },
    (err) => log.debug({ reason: errorMessage(err) }, 'could not write the pull progress file'),
  );
  progress.begin(refName);
  try {
    log.info(
      {
        image: refName,
        platform: formatPlatform(req.platform),
        upstream: formatUpstreamPolicy(req.policy),
        sources: sources.map((s) => `${s.role} ${s.origin}`),
        hosts: hostsFile ?? 'none (registry only)',
      },
      'prepull',
    );
    await warnUnreachableLoopbackMirrors(sources, log);
    if (!sources.some((s) => s.role === 'mirror')) {
      log.warn(
        {
          registry: req.ref.registry,
          hosts: hostsFile ?? `none: no ${req.ref.registry} or _default directory in ${env.layout.hostsDir}`,
          hint: `run 'kairos-spegel configure' (it writes the hosts.toml that points containerd at Spegel), or check kairos-spegel.containerd.hosts_dir`,
        },
        `no mirror is configured for ${req.ref.registry}: everything comes from the upstream registry, nothing from the peers`,
      );
    }
    if (afterMs !== undefined && sources.some((s) => s.role === 'upstream')) {
      const at = new Date(started + afterMs).toISOString();
      log.info(
        { registry: req.ref.registry, upstream_at: at, upstream_in: formatDuration(afterMs) },
        `the upstream registry ${req.ref.registry} may be used from ${at} on, for what the peers do not have by then`,
      );
    }
    let switched = false;
    const walk: WalkContext = {
      sources,
      policy: req.policy,
      startedAt: started,
      log,
      signal: env.signal,
      deadlineMs: agent.pull.stall_after,
      onUpstream: (s, what, why) => {
        if (switched) return;
        switched = true;
        log.warn(
          { registry: req.ref.registry, upstream: s.origin, what, mirrors: why, policy: formatUpstreamPolicy(req.policy) },
          `switching to the upstream registry ${req.ref.registry}: the peers did not have ${what} within ${formatDuration(Math.round((Date.now() - started) / 1000) * 1000)} (--upstream ${formatUpstreamPolicy(req.policy)})`,
        );
      },
    };
    const { digest, by } = await resolveDigest(walk, req.ref, { resolveViaMirror: agent.pull.resolve_tags_via_mirror });
    log.info({ image: refName, digest, resolved_by: by }, 'resolved');
    digestKnown = digest;

    const top = await fetchManifest(walk, req.ref, digest, (s, n) => count(s.role, n));
    let image = top;
    let index: typeof top | undefined;
    let metadata: IndexMetadata = { manifests: [], blobs: [] };
    if (top.manifest.kind === 'index') {
      index = top;
      const chosen = selectPlatform(top.manifest, req.platform, formatImageRef({ ...req.ref, digest }));
      image = await fetchManifest(walk, req.ref, chosen.digest, (s, n) => count(s.role, n));
      metadata = await fetchIndexMetadata(walk, req.ref, top, chosen.digest, store, (s, n) => count(s.role, n));
    }
    if (image.manifest.kind !== 'image') throw new Error(`internal: ${image.digest} is not an image manifest`);
    const blobs = [image.manifest.config, ...image.manifest.layers];
    const size = blobs.reduce((s, b) => s + b.size, 0);
    // The image's blobs, then the metadata blobs the index names (other platforms' configs), each once.
    const wanted = new Map([...blobs, ...metadata.blobs].map((b) => [b.digest, b]));

    const missing: Descriptor[] = [];
    let presentBytes = 0;
    let totalBytes = 0;
    for (const b of wanted.values()) {
      totalBytes += b.size;
      let present = await store.hasBlob(b.digest, b.size);
      // The size is the check of every run; --verify hashes what the store holds, and a
      // damaged blob (a bit flip on the disk) is fetched again.
      if (present && req.verify && !(await store.verifyBlob(b.digest))) {
        log.warn({ blob: b.digest }, 'damaged in the store: its bytes do not hash to its digest; fetching it again');
        await store.removeBlob(b.digest);
        present = false;
      }
      if (present) presentBytes += b.size;
      else {
        missing.push(b);
        // A partial download an earlier run left is resumed, not fetched again: its bytes count as done.
        const partial = (await stat(store.ingestPath(b.digest)).catch(() => undefined))?.size ?? 0;
        if (partial <= b.size) presentBytes += partial;
      }
    }
    await ensureFreeSpace(store.dir, totalBytes - presentBytes, agent.store.free_space_margin);

    const manifests = [...(index ? [index] : []), image, ...metadata.manifests];
    const pending = new PendingImage(
      refName,
      manifests,
      missing.map((b) => b.digest),
    );
    env.onPending?.(pending);
    const imageBlobs = new Set(blobs.map((b) => b.digest));
    const layers = { present: blobs.filter((b) => !missing.includes(b)).length, downloaded: 0 };
    const addon = hashingAddon(env);
    const limiter = agent.pull.upstream_rate_limit > 0 ? new RateLimiter(agent.pull.upstream_rate_limit) : undefined;
    const upstreamSlots = new Slots(agent.pull.upstream_parallel);
    progress.start(refName, totalBytes, presentBytes);
    try {
      // Largest first: the long transfers start early and overlap the short ones.
      await pool(
        missing.sort((a, b) => b.size - a.size),
        agent.pull.parallel,
        async (desc) => {
          const r = await downloadBlob(
            {
              walk,
              store,
              repository: req.ref.repository,
              ...(limiter ? { upstreamLimiter: limiter } : {}),
              upstreamSlots,
              stall: { bytesPerSec: agent.pull.stall_bytes_per_sec, afterMs: agent.pull.stall_after },
              onBytes: count,
              onDiscard: (n) => progress.discard(n),
              ...(addon ? { addon } : {}),
            },
            desc,
          );
          // Metadata blobs (other platforms' configs) are not the image's layers.
          if (imageBlobs.has(desc.digest)) layers[r === 'downloaded' ? 'downloaded' : 'present']++;
          pending.landed(desc.digest);
        },
      );
    } finally {
      progress.stop();
      pending.abandon();
    }

    // Manifests after their blobs, nested indexes after their manifests (deepest level first), the index, then index.json.
    for (const m of [image, ...[...metadata.manifests].reverse()]) await store.putBlob(m.digest, m.bytes);
    if (index) await store.putBlob(index.digest, index.bytes);
    const manifest: Descriptor = { mediaType: image.mediaType, digest: image.digest, size: image.bytes.length };
    await store.putImage(refName, manifest, {
      [ANNOTATIONS.image]: `${refName}${req.ref.digest ? '' : `@${digest}`}`,
      [ANNOTATIONS.pulledAt]: new Date().toISOString(),
      ...(index ? { [ANNOTATIONS.indexDigest]: index.digest, [ANNOTATIONS.indexMediaType]: index.mediaType } : {}),
    });
    return {
      ref: refName,
      digest,
      manifest,
      platform: formatPlatform(req.platform),
      policy: formatUpstreamPolicy(req.policy),
      store: agent.store.path,
      size,
      transferred,
      total: stats.image(refName),
      layers,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    clearInterval(saver);
    progress.stop();
    await publisher.stop();
    await stats.save().catch((err: unknown) => log.warn({ err }, 'could not save transfer counters'));
    await closeSources(sources);
    await lock.release();
  }
}
