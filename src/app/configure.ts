/** `configure`: plan the mirror configuration for this node, then write what changed. */
import { chmod, stat } from 'node:fs/promises';
import type { AppEnv } from './env.ts';
import { loadNodeContext } from './node-context.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { findTraps, type Finding } from '../mirror/containerd-config.ts';
import { planMirrorConfig, type PlannedFile } from '../mirror/plan.ts';
import { containerdVersion } from '../node/containerd-version.ts';
import { detectNodeIp, type NodeIp } from '../node/node-ip.ts';
import { unifiedDiff } from '../util/unified-diff.ts';

export const STAGES = ['boot', 'network', 'reconcile'] as const;
export type Stage = (typeof STAGES)[number];

export interface ConfigureRequest {
  /** boot: only files that need no node IP; network and reconcile: everything. */
  stage: Stage;
  dryRun: boolean;
}

export type FileAction = 'created' | 'updated' | 'unchanged';

/** A known trap around the mirror configuration, with its fix. */
export interface Warning {
  code: string;
  file: string;
  key: string | null;
  message: string;
  fix: string;
}

export interface ConfigureResult {
  dry_run: boolean;
  stage: Stage;
  distro: string;
  node_ip: string | null;
  files: { path: string; action: FileAction }[];
  /** With dry_run: the planned changes as a unified diff ("" when there are none). */
  diff: string | null;
  warnings: Warning[];
}

const MODE = 0o644;

function actionOf(f: PlannedFile): FileAction {
  return f.before === undefined ? 'created' : f.before === f.after ? 'unchanged' : 'updated';
}

export function warningOf(f: Finding): Warning {
  return { code: f.code, file: f.file, key: f.key ?? null, message: f.message, fix: f.fix };
}

async function fixMode(file: string): Promise<void> {
  if (((await stat(file)).mode & 0o7777) !== MODE) await chmod(file, MODE);
}

export async function configureMirror(env: AppEnv, req: ConfigureRequest): Promise<ConfigureResult> {
  const { log, root } = env;
  const ctx = await loadNodeContext(env);
  let nodeIp: NodeIp | undefined;
  if (req.stage !== 'boot' && ctx.layout.writesHostsToml) {
    nodeIp = await detectNodeIp({ nodeIp: ctx.agent.node_ip, iface: ctx.agent.interface, waitMs: ctx.agent.wait_for_ip });
    log.info({ node_ip: nodeIp.ip, from: nodeIp.source, ...(nodeIp.iface ? { interface: nodeIp.iface } : {}) }, 'node IP');
  }

  const plan = await planMirrorConfig({ root, layout: ctx.layout, agent: ctx.agent, nodeIp });
  if (plan.k0sDropIn) log.info({ version: plan.k0sDropIn.version, from: plan.k0sDropIn.from }, `k0s drop-in: version ${plan.k0sDropIn.version} form (${plan.k0sDropIn.from})`);
  const traps = await findTraps(root, ctx.layout, (await containerdVersion(root, ctx.layout.socket, ctx.layout.ctr)).version);
  for (const t of traps) log.warn({ file: t.file, ...(t.key ? { key: t.key } : {}), fix: t.fix }, `${t.key ?? t.file} ${t.message}`);
  for (const dir of plan.shadowing) {
    log.warn(
      { dir: `${ctx.layout.hostsDir}/${dir}` },
      `registry directory without hosts.toml: containerd uses it for ${dir} instead of _default, so pulls from ${dir} bypass the mirror; add a hosts.toml there (configure then adds the mirror to it)`,
    );
  }
  for (const f of plan.files) for (const note of f.notes) log.warn({ file: f.nodePath }, note);

  const result: ConfigureResult = {
    dry_run: req.dryRun,
    stage: req.stage,
    distro: ctx.distro.distro,
    node_ip: nodeIp?.ip ?? null,
    files: plan.files.map((f) => ({ path: f.nodePath, action: actionOf(f) })),
    diff: null,
    warnings: traps.map(warningOf),
  };
  if (req.dryRun) return { ...result, diff: plan.files.map((f) => unifiedDiff(f.before, f.after, f.nodePath)).join('') };

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
  return result;
}
