/** `kairos-spegel health [--wait DURATION]`: parse, check, render; the exit code is the health. */
import { checkHealth, type EndpointState, type HealthReport } from '../../app/health.ts';
import { UsageError } from '../../errors.ts';
import { parseDuration } from '../../util/duration.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { HEALTH_OPTIONS } from '../commands.ts';
import { interruptible } from '../interrupt.ts';
import { table } from '../output.ts';

function cell(e: EndpointState): string[] {
  const tcp = e.tcp.ok ? `${e.tcp.ms}ms` : 'failed';
  const v2 = e.v2 ? String(e.v2.status ?? 'error') : '-';
  const ready = e.ready?.status == null ? '-' : e.ready.status === 404 ? 'n/a' : `${e.ready.status} ${e.ready.path}`;
  return [e.url, tcp, v2, ready, e.state];
}

function human(r: HealthReport): string {
  const lines = [
    `${r.status.toUpperCase()} (distro ${r.distro}${r.node_ip ? `, node IP ${r.node_ip}` : ''}, containerd ${r.containerd.version !== null ? r.containerd.version : `not asked: ${r.containerd.reason}`})`,
  ];
  if (r.endpoints.length > 0) lines.push('', table(['ENDPOINT', 'TCP', '/v2/', 'READY', 'STATE'], r.endpoints.map(cell)));
  if (r.config.length > 0)
    lines.push(
      '',
      table(
        ['CONFIG', 'STATE'],
        r.config.map((c) => [c.file, c.state]),
      ),
    );
  if (r.reasons.length > 0) lines.push('', 'Problems:', ...r.reasons.map((x) => `  - ${x}`));
  if (r.warnings.length > 0) lines.push('', 'Fixes:', ...r.warnings.map((w) => `  - ${w.key ?? w.file}: ${w.fix}`));
  return lines.join('\n');
}

export const run: CommandRun<typeof HEALTH_OPTIONS> = async (ctx) => {
  const waitText = ctx.options.wait;
  const waitMs = waitText === undefined ? 0 : parseDuration(waitText);
  if (waitMs === undefined) throw new UsageError(`--wait expects a duration such as 30s or 2m, got "${waitText}"`);
  const report = await interruptible((signal) => checkHealth(appEnv(ctx, signal), { waitMs }));
  ctx.out.result(report, () => human(report));
  return report.exit_code;
};
