/** `kairos-spegel prepull IMAGE`: parse, prepull, render. */
import { prepullImage } from '../../app/prepull.ts';
import { EXIT_FAILURE, EXIT_OK } from '../../errors.ts';
import { formatBytes } from '../../util/units.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { PREPULL_OPTIONS } from '../commands.ts';
import { interruptible } from '../interrupt.ts';
import { pullRequest } from '../pull-options.ts';

export const run: CommandRun<typeof PREPULL_OPTIONS> = async (ctx) => {
  const req = { ...pullRequest(ctx.positionals, ctx.options), unpack: ctx.options.unpack === true };
  const r = await interruptible((signal) => prepullImage(appEnv(ctx, signal), req));
  ctx.out.result(r, () =>
    [
      `${r.image} (${r.platform}) ${r.manifest}`,
      `  ${formatBytes(r.size)}: ${r.blobs.downloaded} blobs downloaded, ${r.blobs.present} already in the store, in ${r.seconds}s`,
      `  this run: ${formatBytes(r.bytes.from_peers)} from peers (mirror), ${formatBytes(r.bytes.from_upstream)} from upstream`,
      `  store: ${r.store}`,
      ...(r.seeded ? [`  seeded into containerd (k8s.io) as ${r.seeded}`] : []),
      ...(r.staged ? [`  staged: ${r.staged}`] : []),
      ...(r.problem ? [`  ${r.problem}`] : []),
    ].join('\n'),
  );
  return r.problem ? EXIT_FAILURE : EXIT_OK;
};
