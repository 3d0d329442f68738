/** `kairos-spegel status`: what is stored, staged, seeded and applied, and the WAN bytes peers saved. */
import { describeInProgress } from '../../app/in-progress.ts';
import { nodeStatus, type NodeSystem } from '../../app/status.ts';
import { EXIT_OK } from '../../errors.ts';
import { formatBytes } from '../../util/units.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { STATUS_OPTIONS } from '../commands.ts';
import { table } from '../output.ts';

export const run: CommandRun<typeof STATUS_OPTIONS> = async (ctx) => {
  const r = await nodeStatus(appEnv(ctx), { system: ctx.options.system === true });
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
    if (r.system) lines.push('', ...systemLines(r.system));
    return lines.join('\n');
  });
  return EXIT_OK;
};

function systemLines(s: NodeSystem): string[] {
  const unknown = 'unknown';
  const lines = [
    `os: ${s.os ? `${s.os.distro} ${s.os.release}, kernel ${s.os.kernel}` : unknown}`,
    `cpu: ${s.cpu ? `${s.cpu.brand}, ${s.cpu.cores} cores` : unknown}`,
    `memory: ${s.memory ? `${formatBytes(s.memory.available)} available of ${formatBytes(s.memory.total)}` : unknown}`,
    `store file system: ${s.store_filesystem ? `${formatBytes(s.store_filesystem.available)} free of ${formatBytes(s.store_filesystem.size)} on ${s.store_filesystem.mount} (${s.store_filesystem.fs}, ${s.store_filesystem.type})` : unknown}`,
    `node IP: ${s.node_ip ? `${s.node_ip.ip} (${s.node_ip.source}${s.node_ip.iface !== null ? `, ${s.node_ip.iface}` : ''})` : 'none'}`,
  ];
  if (s.interfaces) {
    lines.push(
      '',
      table(
        ['INTERFACE', 'STATE', 'IPV4', 'IPV6', 'MAC', 'NODE IP'],
        s.interfaces.map((i) => [i.name, i.state ?? '-', i.ipv4 ?? '-', i.ipv6 ?? '-', i.mac ?? '-', i.node_ip ? 'yes' : '-']),
      ),
    );
  }
  for (const n of s.notes) lines.push(`note: ${n}`);
  return lines;
}
