/**
 * Loads the agent's configuration: the `kairos-spegel:` block of the node's merged
 * Kairos cloud-config (or of one `--config FILE`), validated into an AgentConfig, plus
 * what the cloud-config says about the Kubernetes distribution.
 */
import { ConfigError, errorMessage, type ConfigProblem, type SourceLocation } from '../errors.ts';
import { readTextFile } from '../fs/read-text.ts';
import type { Root } from '../fs/root.ts';
import type { DistroHints } from '../node/distro.ts';
import { agentSchema, BLOCK_KEY, type AgentConfig } from './agent-config.ts';
import { collectCloudConfig, type SkippedFile } from './cloud-config.ts';
import { INVALID } from './schema.ts';
import { parseYamlTree, type YMap, type YNode } from './yaml-tree.ts';

export interface LoadedConfig {
  agent: AgentConfig;
  hints: DistroHints;
  /** Files that contributed, in merge order. */
  sources: string[];
  skipped: SkippedFile[];
  /** Set when the cloud-config has a config_url the agent did not follow. */
  configUrl?: string;
  /** Whether any file had a kairos-spegel: block; without one the agent runs on its defaults. */
  hasBlock: boolean;
  /** The merged kairos-spegel: block as written, each value located (`config` shows where it was set). */
  block: YNode | undefined;
}

function enabledAt(values: YMap, block: string): SourceLocation | undefined {
  const b = values.entries.get(block)?.value;
  if (b?.kind !== 'map') return undefined;
  const e = b.entries.get('enabled')?.value;
  return e?.kind === 'scalar' && (e.value === true || e.value === 'true') ? e.loc : undefined;
}

export function validateAgentBlock(values: YMap): AgentConfig {
  const problems: ConfigProblem[] = [];
  const block: YNode = values.entries.get(BLOCK_KEY)?.value ?? { kind: 'scalar', value: null, loc: values.loc };
  const agent = agentSchema(block, BLOCK_KEY, problems);
  if (agent === INVALID || problems.length > 0) {
    const order = (p: ConfigProblem) => [p.at.file, p.at.line ?? 0, p.at.col ?? 0] as const;
    problems.sort((a, b) => {
      const [fa, la, ca] = order(a);
      const [fb, lb, cb] = order(b);
      return fa.localeCompare(fb) || la - lb || ca - cb;
    });
    throw new ConfigError(problems);
  }
  return agent;
}

function hintsOf(values: YMap): DistroHints {
  return { k3s: enabledAt(values, 'k3s') ?? enabledAt(values, 'k3s-agent'), k0s: enabledAt(values, 'k0s') ?? enabledAt(values, 'k0s-worker') };
}

/** One cloud-config file on this machine (--config, `validate FILE`), validated alone. */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  let text: string | undefined;
  try {
    text = await readTextFile(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ at: { file }, key: '', message: `cannot read the configuration file: ${errorMessage(err)}` }]);
  }
  if (text === undefined) throw new ConfigError([{ at: { file }, key: '', message: 'cannot read the configuration file: it does not exist' }]);
  const parsed = parseYamlTree(text, file);
  if (!parsed.ok) throw new ConfigError([{ at: parsed.error.at, key: '', message: `not valid YAML: ${parsed.error.message}` }]);
  const root: YNode = parsed.root ?? { kind: 'map', entries: new Map(), loc: { file } };
  if (root.kind !== 'map') throw new ConfigError([{ at: root.loc, key: '', message: `expected a cloud-config mapping with a "${BLOCK_KEY}:" key` }]);
  if (!root.entries.has(BLOCK_KEY)) {
    const agentKeys = Object.keys(agentSchema.fields);
    const stray = [...root.entries.keys()].filter((k) => agentKeys.includes(k));
    if (stray.length > 0) {
      const first = root.entries.get(stray[0]!)!;
      throw new ConfigError(
        [{ at: first.keyLoc, key: stray[0]!, message: `agent settings must be nested under "${BLOCK_KEY}:"` }],
        `indent ${stray.join(', ')} under a "${BLOCK_KEY}:" key, as in the Kairos cloud-config`,
      );
    }
  }
  return { agent: validateAgentBlock(root), hints: hintsOf(root), sources: [file], skipped: [], hasBlock: root.entries.has(BLOCK_KEY), block: root.entries.get(BLOCK_KEY)?.value };
}

export async function loadConfig(opts: { root: Root; configFile?: string }): Promise<LoadedConfig> {
  if (opts.configFile !== undefined) return loadConfigFile(opts.configFile);
  const cc = await collectCloudConfig(opts.root);
  const url = cc.values.entries.get('config_url')?.value;
  return {
    agent: validateAgentBlock(cc.values),
    hints: hintsOf(cc.values),
    sources: cc.sources,
    skipped: cc.skipped,
    configUrl: url?.kind === 'scalar' && typeof url.value === 'string' && url.value !== '' ? url.value : undefined,
    hasBlock: cc.values.entries.has(BLOCK_KEY),
    block: cc.values.entries.get(BLOCK_KEY)?.value,
  };
}
