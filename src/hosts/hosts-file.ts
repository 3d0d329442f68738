/**
 * Reads containerd's hosts configuration as containerd does (core/remotes/docker/config):
 * the directory for a registry is `<dir>/<host_port_>`, `<dir>/<host:port>`, then
 * `<dir>/_default`, the first that exists; its hosts.toml lists [host] tables in file
 * order, then the top-level entry (`server`, or the registry itself) last.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, errnoCode } from '../errors.ts';
import { readTextFile } from '../fs/read-text.ts';
import type { Root } from '../fs/root.ts';
import { parseDuration } from '../util/duration.ts';
import { parseToml, splitToml } from './toml-blocks.ts';

export type Capability = 'pull' | 'resolve' | 'push';

export interface RegistryHost {
  scheme: 'http' | 'https';
  /** host[:port] */
  host: string;
  /** API root, normally /v2. */
  path: string;
  capabilities: ReadonlySet<Capability>;
  /** CA files (node paths). */
  ca?: string[];
  /** Client certificate and key files (node paths; key empty when inside the cert file). */
  client?: [string, string][];
  skipVerify?: boolean;
  header?: Record<string, string[]>;
  dialTimeoutMs?: number;
  /** The top-level entry: `server`, or the registry itself. */
  isServer: boolean;
  /** Where hosts.toml declares it (key: `host."<name>"`, or '' at the top level), for errors about its settings. */
  declaredAt?: { file: string; key: string };
}

export interface RegistryHosts {
  /** hosts.toml that was read (node path), if any. */
  file?: string;
  hosts: RegistryHost[];
}

const ALL: ReadonlySet<Capability> = new Set(['pull', 'resolve', 'push']);

type Raw = Record<string, unknown>;

function strings(v: unknown, what: string, file: string, key: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw new ConfigError([{ at: { file }, key, message: `invalid ${what}: expected a string or a list of strings` }]);
}

function entry(server: string, raw: Raw, baseDir: string, file: string, key: string, isServer: boolean): Omit<RegistryHost, 'scheme' | 'host' | 'path'> & { url?: URL } {
  const abs = (p: string) => (path.posix.isAbsolute(p) ? p : path.posix.join(baseDir, p));
  let url: URL | undefined;
  const overridePath = raw['override_path'] === true;
  if (server !== '') {
    try {
      url = new URL(server.startsWith('http') ? server : `https://${server}`);
    } catch {
      throw new ConfigError([{ at: { file }, key, message: `cannot parse ${JSON.stringify(server)} as a URL` }]);
    }
    let p = url.pathname === '/' ? '' : path.posix.normalize(url.pathname);
    if (p.length > 0) {
      if (!p.endsWith('/v2') && !overridePath) p += '/v2';
    } else if (!overridePath) p = '/v2';
    url.pathname = p;
  }
  const caps = raw['capabilities'];
  let capabilities = ALL;
  if (Array.isArray(caps) && caps.length > 0) {
    const set = new Set<Capability>();
    for (const c of caps) {
      const lc = String(c).toLowerCase();
      if (lc !== 'pull' && lc !== 'resolve' && lc !== 'push') throw new ConfigError([{ at: { file }, key: `${key}.capabilities`, message: `unknown capability ${JSON.stringify(c)}` }]);
      set.add(lc);
    }
    capabilities = set;
  }
  const out: Omit<RegistryHost, 'scheme' | 'host' | 'path'> & { url?: URL } = { url, capabilities, isServer };
  if (raw['ca'] !== undefined) out.ca = strings(raw['ca'], 'ca', file, `${key}.ca`).map(abs);
  if (raw['client'] !== undefined) {
    const c = raw['client'];
    const items = typeof c === 'string' ? [c] : Array.isArray(c) ? c : undefined;
    if (items === undefined) throw new ConfigError([{ at: { file }, key: `${key}.client`, message: 'invalid client: expected a file or a list of [cert, key] pairs' }]);
    out.client = items.map((p) => {
      if (typeof p === 'string') return [abs(p), ''] as [string, string];
      if (Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'string')) return [abs(p[0] as string), abs(p[1] as string)] as [string, string];
      throw new ConfigError([{ at: { file }, key: `${key}.client`, message: 'invalid client pair: expected [cert, key]' }]);
    });
  }
  if (typeof raw['skip_verify'] === 'boolean') out.skipVerify = raw['skip_verify'];
  const header = raw['header'];
  if (typeof header === 'object' && header !== null) {
    out.header = Object.fromEntries(Object.entries(header as Raw).map(([k, v]) => [k, strings(v, `header ${k}`, file, `${key}.header.${k}`)]));
  }
  if (typeof raw['dial_timeout'] === 'string' && raw['dial_timeout'] !== '') {
    const ms = parseDuration(raw['dial_timeout']);
    if (ms === undefined) throw new ConfigError([{ at: { file }, key: `${key}.dial_timeout`, message: `invalid duration ${JSON.stringify(raw['dial_timeout'])}` }]);
    out.dialTimeoutMs = ms;
  }
  return out;
}

function isLocalhost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\./.test(name);
}

/**
 * Parses a hosts.toml. `file` is its node path (relative ca/client paths are taken from
 * its directory); `registry` is the registry being resolved (host[:port]).
 */
export function parseHostsFile(text: string, file: string, registry: string, defaultScheme?: 'http' | 'https'): RegistryHost[] {
  const raw = parseToml(text, file);
  const baseDir = path.posix.dirname(file);
  // Table order, as containerd reads it with go-toml's unstable parser.
  const order: string[] = [];
  for (const b of splitToml(text).blocks) if (b.path[0] === 'host' && b.path[1] !== undefined && !order.includes(b.path[1])) order.push(b.path[1]);
  const hostTables = (raw['host'] ?? {}) as Raw;
  for (const k of Object.keys(hostTables)) if (!order.includes(k)) order.push(k);
  const out: RegistryHost[] = [];
  for (const name of order) {
    const e = entry(name, (hostTables[name] ?? {}) as Raw, baseDir, file, `host.${JSON.stringify(name)}`, false);
    const { url, ...rest } = e;
    out.push({ ...rest, scheme: url!.protocol === 'http:' ? 'http' : 'https', host: url!.host, path: url!.pathname, declaredAt: { file, key: `host.${JSON.stringify(name)}` } });
  }
  const server = typeof raw['server'] === 'string' ? raw['server'] : '';
  out.push({ ...finishServer(entry(server, raw, baseDir, file, 'server', true), registry, defaultScheme), declaredAt: { file, key: '' } });
  return out;
}

function finishServer(e: ReturnType<typeof entry>, registry: string, defaultScheme?: 'http' | 'https'): RegistryHost {
  const { url, ...rest } = e;
  if (url !== undefined) return { ...rest, scheme: url.protocol === 'http:' ? 'http' : 'https', host: url.host, path: url.pathname };
  // No server: the registry itself, with containerd's defaults.
  if (registry === 'docker.io') return { ...rest, scheme: 'https', host: 'registry-1.docker.io', path: '/v2', capabilities: ALL };
  const port = /:(\d+)$/.exec(registry)?.[1];
  const scheme = defaultScheme ?? (isLocalhost(registry) && port !== undefined && port !== '443' ? 'http' : 'https');
  return { ...rest, scheme, host: registry, path: '/v2', capabilities: ALL };
}

/** containerd's directory lookup for a registry in a hosts dir (node paths). */
function hostDirCandidates(hostsDir: string, registry: string): string[] {
  const idx = registry.lastIndexOf(':');
  const portForm = idx > 0 ? `${registry.slice(0, idx)}_${registry.slice(idx + 1)}_` : registry;
  return [...(portForm !== registry ? [portForm] : []), registry, '_default'].map((d) => path.posix.join(hostsDir, d));
}

export async function resolveRegistryHosts(root: Root, hostsDir: string, registry: string, defaultScheme?: 'http' | 'https'): Promise<RegistryHosts> {
  for (const dir of hostDirCandidates(hostsDir, registry)) {
    try {
      await stat(root.path(dir));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw err;
    }
    const file = path.posix.join(dir, 'hosts.toml');
    const text = (await readTextFile(root.path(file), file)) ?? '';
    // Without hosts.toml containerd falls back to Docker-style cert files for the registry itself.
    if (text === '') return { hosts: [finishServer({ capabilities: ALL, isServer: true }, registry, defaultScheme)] };
    return { file, hosts: parseHostsFile(text, file, registry, defaultScheme) };
  }
  return { hosts: [finishServer({ capabilities: ALL, isServer: true }, registry, defaultScheme)] };
}

/** `scheme://host` of a host entry, as written in hosts.toml tables. */
export function hostOrigin(h: Pick<RegistryHost, 'scheme' | 'host'>): string {
  return `${h.scheme}://${h.host}`;
}
