/**
 * The agent's own `kairos-spegel:` block: every key, its type and its default.
 * This is the single source of truth for the configuration reference in README.
 */
import {
  INVALID,
  absolutePath,
  boolean,
  byteRate,
  byteSize,
  duration,
  field,
  integer,
  ipAddress,
  list,
  object,
  oneOf,
  optional,
  port,
  section,
  string,
  writable,
  type Parser,
  type Shape,
} from './schema.ts';
import { formatUpstreamPolicy, parseUpstreamPolicy, type UpstreamPolicy } from './upstream-policy.ts';
import { parsePlatform, type Platform } from '../registry/manifest.ts';
import { parseMirroredRegistry, type MirroredRegistry } from '../registry/registry-name.ts';
import { unusableReason } from '../node/ip-address.ts';
import type { DistroSetting } from '../node/distro.ts';

export const BLOCK_KEY = 'kairos-spegel';

const DISTROS = ['auto', 'k3s', 'k0s', 'containerd'] as const satisfies readonly DistroSetting[];

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
  /**
   * Ports Spegel's registry answers on at the node IP, in the order containerd tries them:
   * the Helm chart's hostPort 30020 and NodePort 30021 (Spegel v0.7.x), as `spegel configuration` writes them.
   */
  ports: field(list(port, { nonEmpty: true, unique: true, what: 'ports' }), () => [30020, 30021]),
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
  /** Form of the k0s drop-in: auto (from `k0s version`), 3 (k0s 1.36 and later, containerd 2), 2 (k0s 1.35 and earlier, containerd 1.7). */
  config_version: field(oneOf(['auto', 2, 3] as const), 'auto'),
  /** containerd's socket, for seeding; default depends on the distribution. */
  socket: optional(absolutePath),
  /** The ctr command, for seeding ("ctr", "k3s ctr"); default depends on the distribution. */
  ctr: optional(string),
});

const upstreamPolicy = writable<UpstreamPolicy>((node, key, problems) => {
  const p = node.kind === 'scalar' && typeof node.value === 'string' ? parseUpstreamPolicy(node.value) : undefined;
  if (p !== undefined) return p;
  problems.push({ at: node.loc, key, message: 'expected "always", "never" or "after <duration>" (e.g. "after 10m")' });
  return INVALID;
}, formatUpstreamPolicy);

const platform: Parser<Platform> = (node, key, problems) => {
  const p = node.kind === 'scalar' && typeof node.value === 'string' ? parsePlatform(node.value) : undefined;
  if (p !== undefined) return p;
  problems.push({ at: node.loc, key, message: 'expected a platform such as linux/amd64 or linux/arm64/v8' });
  return INVALID;
};

/** Where pulled images live: the persistent partition, which survives upgrades. */
const DEFAULT_STORE = '/usr/local/kairos-spegel/store';

const store = object({
  path: field(absolutePath, DEFAULT_STORE),
  /** gc keeps this many most recent images. */
  keep: field(integer(1, 100), 2),
  /** Free space required beyond the image itself. */
  free_space_margin: field(byteSize, 256 * 2 ** 20),
  /** How long a run waits for the store, staging or upgrade lock another run holds; 0s: E_LOCKED at once. */
  lock_wait: field(duration, 0),
});

const pull = object({
  upstream: field(upstreamPolicy, (): UpstreamPolicy => ({ mode: 'always' })),
  /** Cap on bytes per second from the upstream registry; 0: no cap. */
  upstream_rate_limit: field(byteRate, 0),
  /** Blobs downloaded at once. */
  parallel: field(integer(1, 16), 4),
  /**
   * Of those, blobs downloaded from the upstream at once. The WAN is the bottleneck: parallel
   * streams share it without adding speed but delay every blob's completion, and a node
   * hands each blob to containerd (and so to its waiting peers) only once it is complete.
   */
  upstream_parallel: field(integer(1, 16), 1),
  /** A source slower than this for `stall_after` is dropped for the blob. */
  stall_bytes_per_sec: field(byteRate, 10 * 1024),
  stall_after: field(duration, 30_000),
  /** Peers can lie about tags (not about digests): resolving tags through the mirror is opt-in. */
  resolve_tags_via_mirror: field(boolean, false),
  /** Default: the node's own platform. */
  platform: optional(platform),
  /** Hand the image to the node's containerd as it downloads, so Spegel offers it to the peers. */
  seed: field(boolean, true),
});

const upgrade = object({
  /** Unpacked root filesystems, on the persistent partition. */
  staging_path: field(absolutePath, '/usr/local/kairos-spegel/staging'),
  /** What was seeded and applied. */
  state_file: field(absolutePath, '/usr/local/kairos-spegel/state.json'),
  kairos_agent: field(string, 'kairos-agent'),
  /** Wait before rebooting after a successful upgrade with --reboot (logged, can be cancelled). */
  reboot_delay: field(duration, 10_000),
  reboot_command: field(string, 'reboot'),
});

const metrics = object({
  /**
   * node_exporter's textfile collector directory (its --collector.textfile.directory; it has
   * no default, this is its documented example). kairos_spegel.prom is written there after
   * each run, only when the directory exists.
   */
  textfile_directory: field(absolutePath, '/var/lib/node_exporter/textfile_collector'),
});

const credential = object({
  registry: field(string, ''),
  username: optional(string),
  /** A file holding the password or token: secrets stay out of the cloud-config. */
  password_file: field(absolutePath, ''),
});

const credentialEntry: Parser<Shape<typeof credential.fields>> = (node, key, problems) => {
  const c = credential(node, key, problems);
  if (c === INVALID) return c;
  if (c.registry === '' || c.password_file === '') {
    problems.push({ at: node.loc, key, message: 'each credential needs registry and password_file (username optional)' });
    return INVALID;
  }
  return c;
};

export const agentSchema = object({
  node_ip: optional(ipAddress(unusableReason)),
  interface: optional(string),
  wait_for_ip: field(duration, 30_000),
  distro: field(oneOf(DISTROS), 'auto'),
  mirror: section(mirror),
  containerd: section(containerd),
  store: section(store),
  pull: section(pull),
  upgrade: section(upgrade),
  metrics: section(metrics),
  credentials: field(list(credentialEntry, { what: 'credentials' }), () => []),
});

export type AgentConfig = Shape<typeof agentSchema.fields>;
