/** `kairos-spegel status`: what is stored, staged, seeded and applied, and the WAN bytes peers saved. */
import { formatBytes } from '../../util/units.ts';
import { EXIT_OK } from '../../errors.ts';
import { loadNodeContext } from '../../app/node-context.ts';
import { readStoredImages } from '../../store/images.ts';
import { listStaged } from '../../unpack/staging.ts';
import { readKairosVersion } from '../../upgrade/kairos-release.ts';
import { stagingBase } from '../../app/stage-image.ts';
import { readState } from '../../store/node-state.ts';
import type { CommandRun } from '../command.ts';
import { table } from '../output.ts';

export const run: CommandRun = async ({ global, log, out }) => {
  const ctx = await loadNodeContext(global, log);
  const { stats, images } = await readStoredImages(global.root.path(ctx.agent.store.path));
  const staged = await listStaged(stagingBase({ root: global.root, agent: ctx.agent }));
  const state = await readState(global.root.path(ctx.agent.upgrade.state_file));
  const installed = await readKairosVersion(global.root.path('/'));
  const rows = await Promise.all(
    images.map(async (i) => {
      const s = staged.find((x) => x.manifest === i.manifest.digest);
      return {
        ref: i.ref,
        manifest: i.manifest.digest,
        size: i.size,
        bytes: i.bytes,
        staged: s ? { rootfs: s.rootfs, version: (await readKairosVersion(s.rootfs))?.triple } : undefined,
        seeded: state.seeded[i.ref],
      };
    }),
  );
  const total = stats.total;
  const report = { installed: installed?.triple, images: rows, applied: state.applied, bytes: { from_peers: total.mirror, from_upstream: total.upstream, saved: total.mirror } };
  out.result(report, () => {
    const lines = [`installed: ${installed?.triple ?? 'unknown (no /etc/kairos-release)'}`, ''];
    lines.push(
      rows.length === 0
        ? `no images in ${ctx.agent.store.path}`
        : table(
            ['IMAGE', 'SIZE', 'FROM PEERS', 'FROM UPSTREAM', 'STAGED', 'SEEDED'],
            rows.map((r) => [r.ref, formatBytes(r.size), formatBytes(r.bytes.mirror), formatBytes(r.bytes.upstream), r.staged ? (r.staged.version ?? 'yes') : '-', r.seeded ? 'yes' : '-']),
          ),
    );
    const last = state.applied.at(-1);
    if (last) lines.push('', `last upgrade: ${last.ref} ${last.version ?? ''} ${last.result} at ${last.at}${last.recovery ? ' (recovery)' : ''}`);
    lines.push('', `WAN bytes saved: ${formatBytes(total.mirror)} came from peers; ${formatBytes(total.upstream)} from upstream`);
    return lines.join('\n');
  });
  return EXIT_OK;
};
