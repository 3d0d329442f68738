/** `kairos-spegel prepull IMAGE`: the image into the node's store, from peers first; then seeded, and staged on request. */
import type { AgentConfig } from '../../config/agent-config.ts';
import { formatBytes } from '../../util/units.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, errorMessage } from '../../errors.ts';
import { loadNodeContext } from '../../app/node-context.ts';
import { prepull, type PrepullResult } from '../../pull/prepull.ts';
import { parseUpstreamPolicy, type UpstreamPolicy } from '../../config/upstream-policy.ts';
import { formatPlatform, hostPlatform, parsePlatform, type Platform } from '../../registry/manifest.ts';
import { parseImageRef, type ImageRef } from '../../registry/reference.ts';
import { listImages } from '../../store/images.ts';
import { OciStore } from '../../store/oci-store.ts';
import { TransferStats } from '../../store/transfer-stats.ts';
import { Seeding } from '../../seed/seed.ts';
import { unpackStored } from '../../app/stage-image.ts';
import type { CommandContext, CommandRun } from '../command.ts';
import { interruptible } from '../interrupt.ts';

/** IMAGE, --platform and --upstream, shared with `upgrade`. */
export function pullRequest(positionals: string[], options: CommandContext['options'], agent: AgentConfig): { ref: ImageRef; platform: Platform; policy: UpstreamPolicy; verify: boolean } {
  if (positionals.length !== 1) throw new UsageError('expected exactly one IMAGE', 'e.g. quay.io/kairos/ubuntu:24.04-standard-amd64-generic-v3.6.0');
  const ref = parseImageRef(positionals[0]!);
  const platformText = options['platform'] as string | undefined;
  const platform = platformText === undefined ? undefined : parsePlatform(platformText);
  if (platformText !== undefined && platform === undefined) throw new UsageError(`--platform expects os/arch[/variant], e.g. linux/arm64, got "${platformText}"`);
  const policyText = options['upstream'] as string | undefined;
  const policy = policyText === undefined ? undefined : parseUpstreamPolicy(policyText);
  if (policyText !== undefined && policy === undefined) throw new UsageError(`--upstream expects always, never or "after <duration>", got "${policyText}"`);
  return { ref, platform: platform ?? agent.pull.platform ?? hostPlatform(), policy: policy ?? agent.pull.upstream, verify: options['verify'] === true };
}

export const run: CommandRun = async ({ global, options, positionals, log, out }) => {
  const ctx = await loadNodeContext(global, log);
  const req = pullRequest(positionals, options, ctx.agent);
  const tty = process.stderr.isTTY ? process.stderr : undefined;
  const env = { root: global.root, agent: ctx.agent, layout: ctx.layout, log, progress: tty ? { tty } : {} };
  const store = await OciStore.open(global.root.path(ctx.agent.store.path));
  const seeding =
    ctx.agent.pull.seed && options['no-seed'] !== true
      ? new Seeding({ root: global.root, layout: ctx.layout, store, log, platform: formatPlatform(req.platform) }, global.root.path(ctx.agent.upgrade.state_file))
      : undefined;
  let r: PrepullResult;
  try {
    r = await interruptible((signal) => prepull({ ...env, signal, ...(seeding ? { onPending: seeding.onPending } : {}) }, req));
  } catch (err) {
    seeding?.cancel();
    throw err;
  }
  log.info({ image: r.ref, manifest: r.manifest.digest, from_mirror: r.transferred.mirror, from_upstream: r.transferred.upstream, seconds: r.seconds }, 'prepulled');

  const image = (await listImages(store, await TransferStats.load(store.dir))).find((i) => i.ref === r.ref)!;
  const after: { seeded?: string; staged?: string; problem?: string } = {};
  if (seeding) {
    try {
      after.seeded = (await seeding.finish(image))?.digest;
    } catch (err) {
      after.problem = `prepulled, but seeding failed: ${errorMessage(err)}`;
      log.error({}, after.problem);
    }
  }
  if (options['unpack'] === true) {
    after.staged = (await interruptible((signal) => unpackStored({ ...env, signal }, store, image))).rootfs;
  }
  out.result({ ...r, ...after }, () =>
    [
      `${r.ref} (${r.platform}) ${r.manifest.digest}`,
      `  ${formatBytes(r.size)}: ${r.layers.downloaded} blobs downloaded, ${r.layers.present} already in the store, in ${r.seconds}s`,
      `  this run: ${formatBytes(r.transferred.mirror)} from peers (mirror), ${formatBytes(r.transferred.upstream)} from upstream`,
      `  store: ${r.store}`,
      ...(after.seeded ? [`  seeded into containerd (k8s.io) as ${after.seeded}`] : []),
      ...(after.staged ? [`  staged: ${after.staged}`] : []),
      ...(after.problem ? [`  ${after.problem}`] : []),
    ].join('\n'),
  );
  return after.problem ? EXIT_FAILURE : EXIT_OK;
};
