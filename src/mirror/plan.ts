/**
 * What `configure` would write: for each file, its current and desired content.
 * Computing the plan touches nothing, so `--dry-run` and the real run share it.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { AgentConfig } from '../config/agent-config.ts';
import { AgentError, errnoCode, SystemError } from '../errors.ts';
import { readTextFile } from '../fs/read-text.ts';
import type { Root } from '../fs/root.ts';
import { urlHost } from '../node/ip-address.ts';
import type { NodeIp } from '../node/node-ip.ts';
import { mergeHostsToml, type MirrorHost } from './hosts-toml.ts';
import { k0sDropInVersion, type DropInVersion } from '../node/k0s-version.ts';
import { renderK0sDropIn } from './k0s-drop-in.ts';
import type { Layout } from './layout.ts';
import { mergeRegistriesYaml } from './registries-yaml.ts';
import { ALL_REGISTRIES, DEFAULT_HOST_DIR, type MirroredRegistry } from '../registry/registry-name.ts';

export interface PlannedFile {
  /** Path on the node. */
  nodePath: string;
  /** Path on this machine (under --root). */
  realPath: string;
  /** Current content; undefined when the file does not exist. */
  before: string | undefined;
  after: string;
  notes: string[];
}

export interface PlanInput {
  root: Root;
  layout: Layout;
  agent: AgentConfig;
  /** Undefined at the boot stage: only files that do not name the node IP are planned. */
  nodeIp?: NodeIp;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readTextFile(file);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new SystemError('E_READ', `cannot read ${file}: ${(err as Error).message}`, 'check the file permissions', err);
  }
}

async function plannedFile(root: Root, nodePath: string, render: (before: string | undefined) => { text: string; notes?: string[] }): Promise<PlannedFile> {
  const realPath = root.path(nodePath);
  const before = await readIfExists(realPath);
  const { text, notes = [] } = render(before);
  return { nodePath, realPath, before, after: text, notes };
}

export function mirrorHosts(agent: AgentConfig, nodeIp: NodeIp): MirrorHost[] {
  const capabilities = agent.mirror.resolve_tags ? ['pull', 'resolve'] : ['pull'];
  return agent.mirror.ports.map((port) => ({ url: `http://${urlHost(nodeIp.ip)}:${port}`, capabilities, dialTimeoutMs: agent.mirror.dial_timeout }));
}

/**
 * Which hosts.toml files get the mirror. With every registry mirrored, registry
 * directories that already have a hosts.toml get it too: containerd reads only the
 * registry's own directory when it exists, so `_default` alone would be bypassed there.
 */
export async function hostsTomlTargets(root: Root, layout: Layout, agent: AgentConfig): Promise<{ targets: MirroredRegistry[]; shadowing: string[] }> {
  const listed = agent.mirror.registries.length > 0 ? agent.mirror.registries : [ALL_REGISTRIES];
  if (!listed.some((r) => r.host === DEFAULT_HOST_DIR)) return { targets: listed, shadowing: [] };
  const targets = [...listed];
  const shadowing: string[] = [];
  let names: string[] = [];
  try {
    names = (await readdir(root.path(layout.hostsDir), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  for (const name of names.sort()) {
    if (name === DEFAULT_HOST_DIR || name === '_backup' || targets.some((t) => t.host === name)) continue;
    const hasHostsToml = await readIfExists(root.path(path.posix.join(layout.hostsDir, name, 'hosts.toml')));
    if (hasHostsToml !== undefined) targets.push({ host: name });
    else shadowing.push(name);
  }
  return { targets, shadowing };
}

export interface Plan {
  files: PlannedFile[];
  /** Registry directories without hosts.toml that hide `_default` from containerd. */
  shadowing: string[];
  /** k0s: the drop-in's form and what decided it. */
  k0sDropIn?: { version: DropInVersion; from: string };
}

export async function planMirrorConfig(input: PlanInput): Promise<Plan> {
  const { root, layout, agent, nodeIp } = input;
  const files: PlannedFile[] = [];
  let shadowing: string[] = [];
  let k0sDropIn: Plan['k0sDropIn'];
  if (layout.registriesYaml !== undefined) {
    const names = agent.mirror.registries.length === 0 ? ['*'] : agent.mirror.registries.map((r) => (r.host === DEFAULT_HOST_DIR ? '*' : r.host));
    files.push(await plannedFile(root, layout.registriesYaml, (before) => mergeRegistriesYaml(before, names, layout.registriesYaml!)));
  }
  if (layout.k0sDropIn !== undefined) {
    const form = await k0sDropInVersion(agent.containerd.config_version);
    files.push(await plannedFile(root, layout.k0sDropIn, () => ({ text: renderK0sDropIn(layout.hostsDir, form.version) })));
    k0sDropIn = form;
  }
  if (layout.writesHostsToml && nodeIp !== undefined) {
    const hosts = mirrorHosts(agent, nodeIp);
    const found = await hostsTomlTargets(root, layout, agent);
    shadowing = found.shadowing;
    for (const t of found.targets) {
      const nodePath = path.posix.join(layout.hostsDir, t.host, 'hosts.toml');
      files.push(await plannedFile(root, nodePath, (before) => mergeHostsToml(before, hosts, nodePath, t.server)));
    }
  }
  return { files, shadowing, ...(k0sDropIn ? { k0sDropIn } : {}) };
}
