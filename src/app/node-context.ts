/**
 * What most commands need first: the validated configuration, the distribution and
 * where it keeps its files. Loading logs what Kairos' collection skipped, so a user
 * whose block "does nothing" can see why.
 */
import { BLOCK_KEY, type AgentConfig } from '../config/agent-config.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { formatLocation } from '../errors.ts';
import type { AppEnv } from './env.ts';
import type { Root } from '../fs/root.ts';
import { layoutFor, type Layout } from '../mirror/layout.ts';
import { detectDistro, type DetectedDistro } from '../node/distro.ts';

export interface NodeContext {
  config: LoadedConfig;
  agent: AgentConfig;
  distro: DetectedDistro;
  layout: Layout;
}

/**
 * One load per run: the command and the metrics written after it share it, so the
 * configuration is read, and its skipped files logged, once. Keyed by the run's Root.
 */
const loaded = new WeakMap<Root, Map<string | undefined, Promise<NodeContext>>>();

export function loadNodeContext(env: Pick<AppEnv, 'root' | 'configFile' | 'log'>): Promise<NodeContext> {
  let byFile = loaded.get(env.root);
  if (!byFile) loaded.set(env.root, (byFile = new Map<string | undefined, Promise<NodeContext>>()));
  let ctx = byFile.get(env.configFile);
  if (!ctx) byFile.set(env.configFile, (ctx = load(env)));
  return ctx;
}

async function load(env: Pick<AppEnv, 'root' | 'configFile' | 'log'>): Promise<NodeContext> {
  const { log } = env;
  const config = await loadConfig({ root: env.root, configFile: env.configFile });
  for (const s of config.skipped) {
    if (s.syntax) log.warn({ file: s.file }, `cloud-config skipped, as Kairos skips it: ${formatLocation(s.syntax.at)}: ${s.syntax.message}`);
    else if (s.unusual) log.warn({ file: s.file, reason: s.reason }, 'cloud-config file skipped');
    else log.debug({ file: s.file, reason: s.reason }, 'cloud-config file skipped');
  }
  if (config.configUrl !== undefined) log.debug({ config_url: config.configUrl }, 'config_url is not followed; settings for kairos-spegel must be in a local cloud-config file');
  log.debug({ sources: config.sources }, 'configuration loaded');
  if (!config.hasBlock) log.info({ files: config.sources }, `no ${BLOCK_KEY}: block in the cloud-config: running on the defaults ('kairos-spegel validate' checks a config)`);
  const distro = await detectDistro(config.agent.distro, config.hints, env.root);
  const layout = layoutFor(distro.distro, config.agent.containerd);
  log.debug({ distro: distro.distro, reason: distro.reason, hosts_dir: layout.hostsDir }, 'distribution');
  return { config, agent: config.agent, distro, layout };
}
