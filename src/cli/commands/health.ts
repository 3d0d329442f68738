/** `kairos-spegel health [--wait DURATION]`: one check, or polling until healthy. */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration, parseDuration } from '../../util/duration.ts';
import { UsageError } from '../../errors.ts';
import { checkHealth, type HealthReport } from '../../app/health.ts';
import type { EndpointProbe } from '../../health/probe.ts';
import type { CommandRun } from '../command.ts';
import { loadNodeContext } from '../../app/node-context.ts';
import { table } from '../output.ts';

const POLL_MS = 1000;

function cell(e: EndpointProbe): string[] {
  const tcp = e.tcp.ok ? `${e.tcp.ms}ms` : 'failed';
  const v2 = e.v2 ? String(e.v2.status ?? 'error') : '-';
  const ready = e.ready?.status === undefined ? '-' : e.ready.status === 404 ? 'n/a' : `${e.ready.status} ${e.ready.path}`;
  return [e.url, tcp, v2, ready, e.state];
}

function human(r: HealthReport): string {
  const lines = [`${r.status.toUpperCase()} (distro ${r.distro}${r.node_ip ? `, node IP ${r.node_ip}` : ''}, containerd ${r.containerd.version ?? 'not asked: ' + r.containerd.reason})`];
  if (r.endpoints.length > 0) lines.push('', table(['ENDPOINT', 'TCP', '/v2/', 'READY', 'STATE'], r.endpoints.map(cell)));
  if (r.config.length > 0) lines.push('', table(['CONFIG', 'STATE'], r.config.map((c) => [c.file, c.state])));
  if (r.reasons.length > 0) lines.push('', 'Problems:', ...r.reasons.map((x) => `  - ${x}`));
  if (r.warnings.length > 0) lines.push('', 'Fixes:', ...r.warnings.map((w) => `  - ${w.key ?? w.file}: ${w.fix}`));
  return lines.join('\n');
}

export const run: CommandRun = async ({ global, options, log, out }) => {
  const waitText = options['wait'] as string | undefined;
  const waitMs = waitText === undefined ? 0 : parseDuration(waitText);
  if (waitMs === undefined) throw new UsageError(`--wait expects a duration such as 30s or 2m, got "${waitText}"`);
  const deadline = Date.now() + waitMs;

  const ctx = await loadNodeContext(global, log);
  let report = await checkHealth(ctx, global.root);
  while (report.status !== 'healthy' && Date.now() < deadline) {
    const left = deadline - Date.now();
    log.info({ status: report.status, reasons: report.reasons, left: formatDuration(Math.round(left / 100) * 100) }, 'waiting for the mirror to become healthy');
    await sleep(Math.min(POLL_MS, left));
    report = await checkHealth(ctx, global.root);
  }
  log.debug({ status: report.status }, 'health checked');
  out.result(report, () => human(report));
  return report.exit_code;
};
