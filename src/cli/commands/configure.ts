/** `kairos-spegel configure`: plan the mirror configuration, then write what changed. */
import { chmod, stat } from 'node:fs/promises';
import { EXIT_OK, UsageError } from '../../errors.ts';
import { writeFileAtomic } from '../../fs/atomic-write.ts';
import { findTraps } from '../../mirror/containerd-config.ts';
import { planMirrorConfig, type PlannedFile } from '../../mirror/plan.ts';
import { containerdVersion } from '../../node/containerd-version.ts';
import { detectNodeIp, type NodeIp } from '../../node/node-ip.ts';
import { unifiedDiff } from '../../util/unified-diff.ts';
import type { CommandRun } from '../command.ts';
import { loadNodeContext } from '../../app/node-context.ts';

const STAGES = ['boot', 'network', 'reconcile'] as const;
type Action = 'created' | 'updated' | 'unchanged';

function actionOf(f: PlannedFile): Action {
  return f.before === undefined ? 'created' : f.before === f.after ? 'unchanged' : 'updated';
}

const MODE = 0o644;

async function fixMode(file: string): Promise<void> {
  if (((await stat(file)).mode & 0o7777) !== MODE) await chmod(file, MODE);
}

export const run: CommandRun = async ({ global, options, log, out }) => {
  const stage = (options['stage'] as string | undefined) ?? 'reconcile';
  if (!(STAGES as readonly string[]).includes(stage)) throw new UsageError(`--stage must be one of ${STAGES.join(', ')}, got "${stage}"`);
  const dryRun = options['dry-run'] === true;

  const ctx = await loadNodeContext(global, log);
  let nodeIp: NodeIp | undefined;
  if (stage !== 'boot' && ctx.layout.writesHostsToml) {
    nodeIp = await detectNodeIp({ nodeIp: ctx.agent.node_ip, iface: ctx.agent.interface, waitMs: ctx.agent.wait_for_ip });
    log.info({ node_ip: nodeIp.ip, from: nodeIp.source, ...(nodeIp.iface ? { interface: nodeIp.iface } : {}) }, 'node IP');
  }

  const plan = await planMirrorConfig({ root: global.root, layout: ctx.layout, agent: ctx.agent, nodeIp });
  if (plan.k0sDropIn) log.info({ version: plan.k0sDropIn.version, from: plan.k0sDropIn.from }, `k0s drop-in: version ${plan.k0sDropIn.version} form (${plan.k0sDropIn.from})`);
  const traps = await findTraps(global.root, ctx.layout, (await containerdVersion(global.root, ctx.layout.socket, ctx.layout.ctr)).version);
  for (const t of traps) log.warn({ file: t.file, ...(t.key ? { key: t.key } : {}), fix: t.fix }, `${t.key ?? t.file} ${t.message}`);
  for (const dir of plan.shadowing) {
    log.warn(
      { dir: `${ctx.layout.hostsDir}/${dir}` },
      `registry directory without hosts.toml: containerd uses it for ${dir} instead of _default, so pulls from ${dir} bypass the mirror; add a hosts.toml there (configure then adds the mirror to it)`,
    );
  }
  for (const f of plan.files) for (const note of f.notes) log.warn({ file: f.nodePath }, note);

  const files = plan.files.map((f) => ({ path: f.nodePath, action: actionOf(f) }));
  if (dryRun) {
    const diffs = plan.files.map((f) => unifiedDiff(f.before, f.after, f.nodePath)).filter((d) => d !== '');
    out.result({ dry_run: true, distro: ctx.distro.distro, node_ip: nodeIp?.ip, files, diff: diffs.join(''), warnings: traps }, () =>
      diffs.length > 0 ? diffs.join('') : 'No changes: the mirror configuration is up to date.',
    );
    return EXIT_OK;
  }

  for (const f of plan.files) {
    const action = actionOf(f);
    if (action === 'unchanged') {
      await fixMode(f.realPath);
      log.debug({ file: f.nodePath }, 'unchanged');
      continue;
    }
    await writeFileAtomic(f.realPath, f.after, MODE);
    log.info({ file: f.nodePath, action }, `${action} ${f.nodePath}`);
  }
  out.result({ distro: ctx.distro.distro, node_ip: nodeIp?.ip, stage, files, warnings: traps }, () =>
    files.map((f) => `${f.action.padEnd(9)}  ${f.path}`).join('\n') || 'Nothing to write for this distribution at this stage.',
  );
  return EXIT_OK;
};
