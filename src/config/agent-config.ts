/**
 * The agent's own `kairos-spegel:` block: every key, its type and its default.
 * This is the single source of truth for the configuration reference in README.
 */
import { INVALID, absolutePath, boolean, duration, field, ipAddress, list, object, oneOf, optional, port, section, string, type Parser, type Shape } from './schema.ts';
import { parseMirroredRegistry, type MirroredRegistry } from '../mirror/registry-name.ts';
import { unusableReason } from '../node/ip-address.ts';

export const BLOCK_KEY = 'kairos-spegel';

export const DISTROS = ['auto', 'k3s', 'k0s', 'containerd'] as const;
export type DistroSetting = (typeof DISTROS)[number];

const registry: Parser<MirroredRegistry> = (node, key, problems) => {
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    const r = parseMirroredRegistry(node.value);
    if (typeof r !== 'string') return r;
    problems.push({ at: node.loc, key, message: `${r}: expected a registry such as docker.io, https://ghcr.io or "_default"` });
    return INVALID;
  }
  problems.push({ at: node.loc, key, message: 'expected a registry such as docker.io, https://ghcr.io or "_default"' });
  return INVALID;
};

const mirror = object({
  /** Ports Spegel's registry answers on at the node IP (chart: NodePort/hostPort 30020, older charts also 30021). */
  ports: field(list(port, { nonEmpty: true, unique: true, what: 'ports' }), () => [30020]),
  dial_timeout: field(duration, 200),
  /** Empty: every registry (containerd `_default`, k3s `"*"`). */
  registries: field(list(registry, { unique: true, what: 'registries' }), () => []),
  resolve_tags: field(boolean, true),
});

const containerd = object({
  /** containerd's `config_path`; default depends on the distribution. */
  hosts_dir: optional(absolutePath),
  /** containerd's config.toml, checked for known traps; default depends on the distribution. */
  config_file: optional(absolutePath),
  /** Config version of the k0s drop-in: 3 for containerd 2.x (k0s 1.33+), 2 for containerd 1.7. */
  config_version: field(oneOf([2, 3] as const), 3),
});

export const agentSchema = object({
  node_ip: optional(ipAddress(unusableReason)),
  interface: optional(string),
  wait_for_ip: field(duration, 30_000),
  distro: field(oneOf(DISTROS), 'auto'),
  mirror: section(mirror),
  containerd: section(containerd),
});

export type AgentConfig = Shape<typeof agentSchema.fields>;
