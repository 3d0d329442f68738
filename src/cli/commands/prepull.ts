/** `kairos-spegel prepull IMAGE`: the image into the node's store, from peers first. */
import { formatBytes } from '../../config/units.ts';
import { EXIT_OK, UsageError } from '../../errors.ts';
import { loadNodeContext } from '../../node/context.ts';
import { prepull } from '../../pull/prepull.ts';
import { parseUpstreamPolicy } from '../../pull/upstream-policy.ts';
import { hostPlatform, parsePlatform } from '../../registry/manifest.ts';
import { parseImageRef } from '../../registry/reference.ts';
import type { CommandRun } from '../command.ts';
import { interruptible } from '../interrupt.ts';

export const run: CommandRun = async ({ global, options, positionals, log, out }) => {
  if (positionals.length !== 1) throw new UsageError('prepull takes exactly one IMAGE', 'e.g. kairos-spegel prepull quay.io/kairos/ubuntu:24.04-standard-amd64-generic-v3.6.0');
  const ref = parseImageRef(positionals[0]!);
  const platformText = options['platform'] as string | undefined;
  const platform = platformText === undefined ? undefined : parsePlatform(platformText);
  if (platformText !== undefined && platform === undefined) throw new UsageError(`--platform expects os/arch[/variant], e.g. linux/arm64, got "${platformText}"`);
  const policyText = options['upstream'] as string | undefined;
  const policy = policyText === undefined ? undefined : parseUpstreamPolicy(policyText);
  if (policyText !== undefined && policy === undefined) throw new UsageError(`--upstream expects always, never or "after <duration>", got "${policyText}"`);

  const ctx = await loadNodeContext(global, log);
  const tty = process.stderr.isTTY ? process.stderr : undefined;
  const r = await interruptible((signal) =>
    prepull(
      { root: global.root, agent: ctx.agent, layout: ctx.layout, log, progress: tty ? { tty } : {}, signal },
      { ref, platform: platform ?? ctx.agent.pull.platform ?? hostPlatform(), policy: policy ?? ctx.agent.pull.upstream },
    ),
  );
  log.info({ image: r.ref, manifest: r.manifest.digest, from_mirror: r.transferred.mirror, from_upstream: r.transferred.upstream, seconds: r.seconds }, 'prepulled');
  out.result(r, () =>
    [
      `${r.ref} (${r.platform}) ${r.manifest.digest}`,
      `  ${formatBytes(r.size)}: ${r.layers.downloaded} blobs downloaded, ${r.layers.present} already in the store, in ${r.seconds}s`,
      `  this run: ${formatBytes(r.transferred.mirror)} from peers (mirror), ${formatBytes(r.transferred.upstream)} from upstream`,
      `  store: ${r.store}`,
    ].join('\n'),
  );
  return EXIT_OK;
};
