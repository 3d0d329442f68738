/**
 * The one redirect policy of every registry request: manifests, tokens and blobs (the big
 * registries send blobs, and sometimes manifests, to storage hosts with signed URLs).
 *
 * - At most MAX_REDIRECTS hops; only http and https; never from https down to http.
 * - Once a hop leaves the origin the request started at, the request goes on without the
 *   source's credentials, for the rest of the chain (even back at the first origin): no
 *   Authorization, none of the custom headers hosts.toml gives the host (often tokens), no
 *   client certificate and no skip_verify. The CA list is public and stays.
 *
 * Go's net/http, which containerd uses, strips Authorization on a cross-host redirect but
 * forwards the other headers; hosts.toml headers carry secrets often enough that we do not.
 */
import { RegistryError } from '../errors.ts';
import type { TlsOptions } from './tls.ts';

const MAX_REDIRECTS = 5;

/** Headers that are the request itself, not a credential: they follow to any origin. */
const CROSS_ORIGIN_HEADERS = new Set(['range', 'user-agent', 'accept']);

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The Location a response redirects to, or undefined when it is not a redirect. */
export function redirectLocation(status: number, location: string | undefined): string | undefined {
  return REDIRECT_STATUSES.has(status) && location ? location : undefined;
}

/** Where the hop after `from` goes, or why it is not followed (E_HTTP). `hop` counts from 0. */
export function nextHop(from: URL, location: string, hop: number): URL {
  if (hop >= MAX_REDIRECTS) throw new RegistryError('E_HTTP', `${from.origin}: more than ${MAX_REDIRECTS} redirects`);
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new RegistryError('E_HTTP', `${from.origin} redirected to something that is not a URL: ${JSON.stringify(location.slice(0, 80))}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new RegistryError('E_HTTP', `${from.origin} redirected to a ${next.protocol} URL; only http and https are followed`);
  if (from.protocol === 'https:' && next.protocol === 'http:') throw new RegistryError('E_HTTP', `${from.origin} redirected from https to plain http (${next.origin}); not followed`);
  return next;
}

/** Whether a header is a credential: it goes only to the origin the request started at. */
export function isCredentialHeader(name: string): boolean {
  return !CROSS_ORIGIN_HEADERS.has(name.toLowerCase());
}

/** The headers that go on to another origin. */
export function crossOriginHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !isCredentialHeader(k)));
}

/** The TLS settings for another origin: the CA list only. */
export function crossOriginTls(tls: TlsOptions): TlsOptions {
  return tls.ca ? { ca: tls.ca } : {};
}
