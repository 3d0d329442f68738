/**
 * A place content can come from, as containerd sees it: the mirror hosts of hosts.toml
 * in file order, then the registry itself (`server`). Requests to a host other than the
 * image's registry carry `?ns=<registry>` (Spegel needs it for every request); registry
 * credentials go only to the upstream entry, never to a mirror.
 */
import type { Root } from '../fs/root.ts';
import { hostOrigin, type RegistryHost } from '../hosts/hosts-file.ts';
import type { Credential } from './auth/credential.ts';
import { loadTls } from './transport/tls.ts';
import { Transport } from './transport/transport.ts';

export type SourceRole = 'mirror' | 'upstream';

export interface Source {
  /** scheme://host, for logs and results. */
  origin: string;
  role: SourceRole;
  host: RegistryHost;
  /** The image's registry (the `ns` value). */
  registry: string;
  /** Sends its requests: with the host's TLS settings and headers, authenticating at the upstream. */
  transport: Transport;
}

/** containerd's default dial timeout when hosts.toml sets none. */
const DEFAULT_DIAL_MS = 30_000;

function sameRegistryHost(host: string, registry: string): boolean {
  return host === registry || (registry === 'docker.io' && host === 'registry-1.docker.io');
}

/**
 * The source for one host of hosts.toml. Its TLS files are read now: one that cannot be
 * is a ConfigError. `auth` is used at the upstream only: the credential and the deadline
 * of a token exchange (pull.stall_after).
 */
export async function openSource(root: Root, host: RegistryHost, registry: string, auth: { credential: Credential | undefined; deadlineMs: number }): Promise<Source> {
  const role = host.isServer ? 'upstream' : 'mirror';
  const origin = hostOrigin(host);
  const transport = new Transport({
    origin,
    tls: await loadTls(root, host),
    connectTimeoutMs: host.dialTimeoutMs ?? DEFAULT_DIAL_MS,
    ...(host.header ? { header: host.header } : {}),
    ...(role === 'upstream' ? { auth: { registry, ...auth } } : {}),
  });
  return { origin, role, host, registry, transport };
}

/** The URL of a repository's manifest or blob at `s`, and the token scope a request for it needs. */
export function sourceTarget(s: Source, repository: string, kind: 'manifests' | 'blobs', ref: string): { url: URL; scope: string } {
  const base = `${s.host.scheme}://${s.host.host}${s.host.path}/${repository}/${kind}/${ref}`;
  const url = new URL(sameRegistryHost(s.host.host, s.registry) ? base : `${base}?ns=${encodeURIComponent(s.registry)}`);
  return { url, scope: `repository:${repository}:pull` };
}
