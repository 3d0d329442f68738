/** `kairos-spegel status`: what is stored, staged, seeded and applied, and the WAN bytes peers saved. */
import { describeInProgress } from '../../app/in-progress.ts';
import { nodeStatus } from '../../app/status.ts';
import { EXIT_OK } from '../../errors.ts';
import { formatBytes } from '../../util/units.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { STATUS_OPTIONS } from '../commands.ts';
import { table } from '../output.ts';

export const run: CommandRun<typeof STATUS_OPTIONS> = async (ctx) => {
  const r = await nodeStatus(appEnv(ctx));
  ctx.out.result(r, () => {
    const lines = [`installed: ${r.installed ?? 'unknown (no /etc/kairos-release)'}`, ''];
    lines.push(
      r.images.length === 0
        ? `no images in ${r.store}`
        : table(
            ['IMAGE', 'SIZE', 'FROM PEERS', 'FROM UPSTREAM', 'STAGED', 'SEEDED'],
            r.images.map((i) => [
              i.image,
              formatBytes(i.size),
              formatBytes(i.bytes.from_peers),
              formatBytes(i.bytes.from_upstream),
              i.staged ? (i.staged.version ?? 'yes') : '-',
              i.seeded ? 'yes' : '-',
            ]),
          ),
    );
    const last = r.applied.at(-1);
    if (last) lines.push('', `last upgrade: ${last.image} ${last.version ?? ''} ${last.result} at ${last.at}${last.recovery ? ' (recovery)' : ''}`);
    if (r.in_progress) lines.push('', describeInProgress(r.in_progress));
    lines.push('', `WAN bytes saved: ${formatBytes(r.bytes.from_peers)} came from peers; ${formatBytes(r.bytes.from_upstream)} from upstream`);
    return lines.join('\n');
  });
  return EXIT_OK;
};
