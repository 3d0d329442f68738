/**
 * A place content can come from, as containerd sees it: the mirror hosts of hosts.toml
 * in file order, then the registry itself (`server`). Requests to a host other than the
 * image's registry carry `?ns=<registry>` (Spegel needs it for every request); registry
 * credentials go only to the upstream entry, never to a mirror.
 */
import { readFile } from 'node:fs/promises';
import { Agent, type Dispatcher } from 'undici';
import { errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import type { RegistryHost } from '../hosts/hosts-file.ts';
import { VERSION } from '../version.ts';
import type { Authorizer } from './auth/authorizer.ts';
import { RegistryError } from './errors.ts';
import { crossOriginTls, requestFollowing, type Connections } from './redirect.ts';

export type SourceRole = 'mirror' | 'upstream';

export interface Source {
  /** scheme://host, for logs and results. */
  origin: string;
  role: SourceRole;
  host: RegistryHost;
  /** The image's registry (the `ns` value). */
  registry: string;
  dispatcher: Dispatcher;
  /** For the origins redirects lead to: the CA list only (see redirect.ts). */
  foreignDispatcher: Dispatcher;
  /** TLS material from hosts.toml (ca, client certificate), for connections made outside the dispatcher. */
  tls: TlsOptions;
  connectTimeoutMs: number;
  /** Upstream only. */
  authorizer?: Authorizer;
}

export interface TlsOptions {
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

/** containerd's default dial timeout when hosts.toml sets none. */
const DEFAULT_DIAL_MS = 30_000;
const HEADERS_TIMEOUT_MS = 30_000;
/** The pull engine watches for stalls itself; this only bounds a silent connection. */
const BODY_TIMEOUT_MS = 300_000;

export function sameRegistryHost(host: string, registry: string): boolean {
  return host === registry || (registry === 'docker.io' && host === 'registry-1.docker.io');
}

/** The TLS files hosts.toml names for a host (node paths, read under --root). */
export async function loadTls(root: Root, host: RegistryHost): Promise<TlsOptions> {
  const read = async (p: string) => {
    try {
      return await readFile(root.path(p), 'utf8');
    } catch (err) {
      throw new RegistryError('E_NETWORK', `cannot read TLS file ${p} for ${host.host}: ${errorMessage(err)}`, 'fix the ca/client paths in hosts.toml');
    }
  };
  const tls: TlsOptions = {};
  if (host.ca) tls.ca = await Promise.all(host.ca.map(read));
  const pair = host.client?.[0];
  if (pair) {
    tls.cert = await read(pair[0]);
    tls.key = await read(pair[1] || pair[0]);
  }
  if (host.skipVerify) tls.rejectUnauthorized = false;
  return tls;
}

export function connectTimeout(host: RegistryHost): number {
  return host.dialTimeoutMs ?? DEFAULT_DIAL_MS;
}

/** Connections to the host itself and, without its client certificate, to where it redirects. */
export function createDispatchers(host: RegistryHost, tls: TlsOptions): Connections {
  const agent = (t: TlsOptions | undefined) => new Agent({ connect: { timeout: connectTimeout(host), ...t }, headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS });
  return { dispatcher: agent(tls), foreignDispatcher: agent(crossOriginTls(tls)) };
}

export function sourceUrl(s: Source, repository: string, kind: 'manifests' | 'blobs', ref: string): string {
  const base = `${s.host.scheme}://${s.host.host}${s.host.path}/${repository}/${kind}/${ref}`;
  return sameRegistryHost(s.host.host, s.registry) ? base : `${base}?ns=${encodeURIComponent(s.registry)}`;
}

export interface SendOptions {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function retryAfterMs(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** The registry error for a non-success status. */
export function errorForStatus(status: number, headers: Record<string, string | string[] | undefined>, what: string): RegistryError {
  if (status === 404) return new RegistryError('E_NOT_FOUND', `${what}: not found (404)`);
  if (status === 401 || status === 403) return new RegistryError('E_UNAUTHORIZED', `${what}: HTTP ${status}`);
  if (status === 429 || status === 503) return new RegistryError('E_RATE_LIMITED', `${what}: HTTP ${status}`, undefined, { retryAfterMs: retryAfterMs(headers['retry-after']) });
  return new RegistryError('E_HTTP', `${what}: HTTP ${status}`);
}

/** The registry error for a non-success answer; the body is drained. */
export async function statusError(res: Dispatcher.ResponseData, what: string): Promise<RegistryError> {
  await res.body.dump().catch(() => undefined);
  return errorForStatus(res.statusCode, res.headers, what);
}

/** Headers every request to `s` carries: ours, then what hosts.toml adds for the host. */
export function baseHeaders(s: Source): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': `kairos-spegel/${VERSION}` };
  for (const [k, v] of Object.entries(s.host.header ?? {})) headers[k.toLowerCase()] = v.join(', ');
  return headers;
}

/**
 * One request to a source, authenticating at the upstream when challenged and following
 * redirects (redirect.ts). The caller reads or drains the body. Network failures become
 * E_NETWORK.
 */
export async function send(s: Source, repository: string, kind: 'manifests' | 'blobs', ref: string, opts: SendOptions): Promise<Dispatcher.ResponseData> {
  const url = new URL(sourceUrl(s, repository, kind, ref));
  const scope = `repository:${repository}:pull`;
  const headers: Record<string, string> = { ...baseHeaders(s), ...opts.headers };
  for (let attempt = 0; ; attempt++) {
    const auth = s.authorizer?.header(scope);
    if (auth) headers['authorization'] = auth;
    let res: Dispatcher.ResponseData;
    try {
      res = await requestFollowing(url, { dispatcher: s.dispatcher, foreignDispatcher: s.foreignDispatcher, method: opts.method, headers, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : err;
      if (err instanceof RegistryError) throw err;
      throw new RegistryError('E_NETWORK', `${s.origin}: ${errorMessage(err)}`, undefined, { cause: err });
    }
    if (res.statusCode === 401 && s.authorizer && attempt > 0) {
      await res.body.dump().catch(() => undefined);
      s.authorizer.forget(scope);
      throw s.authorizer.refused(scope);
    }
    if (res.statusCode === 401 && s.authorizer) {
      await res.body.dump().catch(() => undefined);
      if (auth) s.authorizer.forget(scope);
      const challenge = res.headers['www-authenticate'];
      await s.authorizer.authenticate(Array.isArray(challenge) ? challenge.join(', ') : challenge, scope);
      continue;
    }
    return res;
  }
}
