/**
 * The one redirect policy of every registry request: manifests, tokens and blobs (the big
 * registries send blobs, and sometimes manifests, to storage hosts with signed URLs).
 *
 * - At most MAX_REDIRECTS hops; only http and https; never from https down to http.
 * - Once a hop leaves the source's origin, the request goes on without the source's
 *   credentials, for the rest of the chain (even back at the first origin): no
 *   Authorization, none of the custom headers hosts.toml gives the host (often tokens), no
 *   client certificate and no skip_verify. The CA list is public and stays.
 *
 * Go's net/http, which containerd uses, strips Authorization on a cross-host redirect but
 * forwards the other headers; hosts.toml headers carry secrets often enough that we do not.
 */
import { request, type Dispatcher } from 'undici';
import { RegistryError } from './errors.ts';

const MAX_REDIRECTS = 5;

/** Headers that are the request itself, not a credential: they follow to any origin. */
const CROSS_ORIGIN_HEADERS = new Set(['range', 'user-agent', 'accept']);

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The Location a response redirects to, or undefined when it is not a redirect. */
export function redirectLocation(status: number, location: string | string[] | undefined): string | undefined {
  const l = Array.isArray(location) ? location[0] : location;
  return REDIRECT_STATUSES.has(status) && l ? l : undefined;
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

/** The headers that go on to another origin. */
export function crossOriginHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => CROSS_ORIGIN_HEADERS.has(k.toLowerCase())));
}

/** The TLS settings for another origin: the CA list only. */
export function crossOriginTls<T extends { ca?: unknown }>(tls: T | undefined): Pick<T, 'ca'> | undefined {
  return tls?.ca ? { ca: tls.ca } : undefined;
}

/** The connections of one source. */
export interface Connections {
  /** For the source's own origin: its TLS settings, client certificate included. */
  dispatcher: Dispatcher;
  /** For every other origin: the CA list only (crossOriginTls). */
  foreignDispatcher: Dispatcher;
}

export interface FollowOptions extends Connections {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  signal?: AbortSignal;
  headersTimeout?: number;
  bodyTimeout?: number;
}

/** An undici request that follows redirects under the policy above. The caller reads or drains the body. */
export async function requestFollowing(url: URL, opts: FollowOptions): Promise<Dispatcher.ResponseData> {
  const origin = url.origin;
  let current = url;
  let headers = opts.headers;
  let crossed = false;
  for (let hop = 0; ; hop++) {
    const res = await request(current, {
      dispatcher: crossed ? opts.foreignDispatcher : opts.dispatcher,
      method: opts.method,
      headers,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.headersTimeout ? { headersTimeout: opts.headersTimeout } : {}),
      ...(opts.bodyTimeout ? { bodyTimeout: opts.bodyTimeout } : {}),
    });
    const location = redirectLocation(res.statusCode, res.headers['location']);
    if (location === undefined) return res;
    await res.body.dump().catch(() => undefined);
    const next = nextHop(current, location, hop);
    if (next.origin !== origin && !crossed) {
      crossed = true;
      headers = crossOriginHeaders(headers);
    }
    current = next;
  }
}
