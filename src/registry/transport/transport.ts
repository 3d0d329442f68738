/**
 * The one way registry requests are sent: tokens, manifests, blobs, and the probes of
 * mirror endpoints. A Transport belongs to one host of hosts.toml (its scheme, TLS
 * settings and headers) and runs every request through one pipeline:
 *
 * 1. headers: ours, and hosts.toml's when the request goes to the host itself (not to a
 *    token realm elsewhere), the caller's, and at the upstream the Authorization for the
 *    request's scope;
 * 2. redirects, under the policy of redirect.ts;
 * 3. a 401 at the upstream: the Authorizer answers the challenge, the request goes once more;
 * 4. a status the caller does not expect: a RegistryError by status, in the registry's own
 *    words from its error body (error-body.ts).
 *
 * Bodies take one of two strategies: `fetch` collects a bounded body over undici
 * (undici-wire.ts), under a deadline for the whole exchange; `stream` hands a blob's body
 * to the caller's sink, piece by piece from a reused read buffer (raw-wire.ts).
 */
import { Agent } from 'undici';
import { Authorizer } from '../auth/authorizer.ts';
import type { Credential } from '../auth/credential.ts';
import { RegistryError } from '../errors.ts';
import { withDeadline } from './deadline.ts';
import { MAX_ERROR_BODY, parseErrorBody, statusError } from './error-body.ts';
import { rawExchange } from './raw-wire.ts';
import { crossOriginHeaders, crossOriginTls, isCredentialHeader, nextHop, redirectLocation } from './redirect.ts';
import type { TlsOptions } from './tls.ts';
import { undiciExchange } from './undici-wire.ts';
import type { BodySink, ResponseHead, Wire } from './wire.ts';
import { VERSION } from '../../version.ts';

export type { BodySink, ResponseHead } from './wire.ts';

const USER_AGENT = `kairos-spegel/${VERSION}`;
const HEADERS_TIMEOUT_MS = 30_000;
/** Blob transfers watch for stalls themselves; this only bounds a silent connection. */
const BODY_TIMEOUT_MS = 300_000;

export interface TransportOptions {
  /** scheme://host[:port] of the host. */
  origin: string;
  tls: TlsOptions;
  connectTimeoutMs: number;
  /** hosts.toml's headers for the host: sent with every request to it, never elsewhere. */
  header?: Record<string, string[]>;
  /** The upstream registry: authenticate when challenged. */
  auth?: { registry: string; credential: Credential | undefined; deadlineMs: number };
}

export interface Request {
  method: 'GET' | 'HEAD';
  url: URL;
  /** Starts error messages: "http://mirror:30020: blob sha256:...". */
  what: string;
  headers?: Record<string, string>;
  /** The token scope the request needs at the upstream ("repository:app:pull"); without it, no Authorization. */
  scope?: string;
  /** Statuses the caller handles (default 200); any other is thrown as a RegistryError. */
  expect?: readonly number[] | 'any';
  signal?: AbortSignal;
}

export interface FetchRequest extends Request {
  /** The longest body accepted; a longer one is E_SIZE. */
  limit: number;
  /** The whole exchange, authentication included, within this; E_STALLED past it. */
  deadlineMs?: number;
}

export interface StreamRequest extends Request {
  /** Where plain-HTTP reads land (raw-wire.ts). */
  readBuffer?: Buffer;
}

export interface Answer extends ResponseHead {
  body: Buffer;
}

/** A body kept in memory, copied (a wire may reuse its buffer), up to `limit` bytes; `overflow` makes the error past it. */
class Collector implements BodySink {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly limit: number;
  private readonly overflow: () => Error;

  constructor(limit: number, overflow: () => Error) {
    this.limit = limit;
    this.overflow = overflow;
  }

  data(chunk: Buffer): void {
    if (this.size + chunk.length > this.limit) throw this.overflow();
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** An answer with a status the caller does not expect, and its error body. */
interface Failure {
  head: ResponseHead;
  body: Collector;
}

/** Header values that are credentials, and the token or password part of an Authorization: never echoed. */
function secretsOf(headers: Record<string, string>): string[] {
  return Object.entries(headers)
    .filter(([k]) => isCredentialHeader(k))
    .flatMap(([, v]) => [v, v.replace(/^\S+\s+/, '')]);
}

export class Transport {
  readonly connectTimeoutMs: number;
  /** The host's origin, normalized as URL.origin is (no default port). */
  private readonly home: string;
  private readonly authorizer?: Authorizer;
  private readonly tls: TlsOptions;
  private readonly headers: Record<string, string>;
  /** Connections to the origin a request starts at (client certificate included), and to where it is redirected (CA only). */
  private readonly own: Agent;
  private readonly foreign: Agent;

  constructor(opts: TransportOptions) {
    this.home = new URL(opts.origin).origin;
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.tls = opts.tls;
    this.headers = Object.fromEntries(Object.entries(opts.header ?? {}).map(([k, v]) => [k.toLowerCase(), v.join(', ')]));
    const agent = (tls: TlsOptions) => new Agent({ connect: { timeout: opts.connectTimeoutMs, ...tls }, headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS });
    this.own = agent(opts.tls);
    this.foreign = agent(crossOriginTls(opts.tls));
    if (opts.auth) this.authorizer = new Authorizer(opts.auth.registry, opts.auth.credential, this, opts.auth.deadlineMs);
  }

  /** A request whose whole body is wanted in memory: a manifest, a token, a probe's answer. */
  fetch(req: FetchRequest): Promise<Answer> {
    const exchange = async (signal: AbortSignal | undefined): Promise<Answer> => {
      let body: Collector | undefined;
      const head = await this.send(
        { ...req, ...(signal ? { signal } : {}) },
        (foreign) => (url, w, onHead) => undiciExchange(foreign ? this.foreign : this.own, url, w, onHead),
        (h) => {
          const tooLong = () => new RegistryError('E_SIZE', `${req.what}: the answer is larger than ${req.limit} bytes`);
          if (req.method === 'GET' && Number(h.headers['content-length'] ?? 0) > req.limit) throw tooLong();
          body = new Collector(req.limit, tooLong);
          return body;
        },
      );
      return { ...head, body: body?.bytes() ?? Buffer.alloc(0) };
    };
    return req.deadlineMs === undefined ? exchange(req.signal) : withDeadline(req.what, req.deadlineMs, req.signal, exchange);
  }

  /**
   * A request whose body goes to a sink as it arrives: a blob. `onHead` sees the final
   * answer (an expected status) and returns the sink; the promise settles once the body
   * is delivered.
   */
  stream(req: StreamRequest, onHead: (head: ResponseHead) => BodySink): Promise<ResponseHead> {
    const raw = { connectTimeoutMs: this.connectTimeoutMs, headersTimeoutMs: HEADERS_TIMEOUT_MS, ...(req.readBuffer ? { readBuffer: req.readBuffer } : {}) };
    return this.send(req, (foreign) => (url, w, sink) => rawExchange(url, w, { ...raw, tls: foreign ? crossOriginTls(this.tls) : this.tls }, sink), onHead);
  }

  async close(): Promise<void> {
    await Promise.all([this.own.close(), this.foreign.close()]).catch(() => undefined);
  }

  /** Steps 1, 3 and 4 of the pipeline; `wire(foreign)` is the wire to use, `onHead` gets the answer the caller expects. */
  private async send(req: Request, wire: (foreign: boolean) => Wire, onHead: (head: ResponseHead) => BodySink | undefined): Promise<ResponseHead> {
    const expected = req.expect ?? [200];
    const scope = req.scope;
    const auth = scope === undefined ? undefined : this.authorizer;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...(req.url.origin === this.home ? this.headers : {}), ...req.headers };
      const credential = auth?.header(scope!);
      if (credential) headers['authorization'] = credential;
      let challenged = false;
      let failure: Failure | undefined;
      const fail = (f: Failure): RegistryError => {
        const refused = f.head.status === 401 && auth !== undefined;
        if (refused) auth.forget(scope!);
        const diagnostics = parseErrorBody(f.body.bytes(), secretsOf(headers));
        return statusError(f.head.status, f.head.headers, diagnostics, refused ? auth.refusal(scope!) : req.what, this.authorizer?.hint);
      };
      const head = await this.follow(req, headers, wire, (h) => {
        if (h.status === 401 && auth && attempt === 0) {
          challenged = true;
          return undefined;
        }
        if (expected === 'any' || expected.includes(h.status)) return onHead(h);
        // Past MAX_ERROR_BODY the rest is not read: what arrived is all the registry gets to say.
        const f: Failure = { head: h, body: new Collector(MAX_ERROR_BODY, () => fail(f)) };
        failure = f;
        return f.body;
      });
      if (failure) throw fail(failure);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the onHead callback above
      if (!challenged) return head;
      if (credential) auth!.forget(scope!);
      await auth!.authenticate(head.headers['www-authenticate'], scope!, req.signal);
    }
  }

  /** Step 2: one request, following redirects; credentials stay with the origin it started at. */
  private async follow(req: Request, headers: Record<string, string>, wire: (foreign: boolean) => Wire, onHead: (head: ResponseHead) => BodySink | undefined): Promise<ResponseHead> {
    const start = req.url.origin;
    let url = req.url;
    let crossed = false;
    for (let hop = 0; ; hop++) {
      let location: string | undefined;
      const what = url.origin === start ? req.what : `${req.what} (redirected to ${url.origin})`;
      const head = await wire(crossed)(url, { method: req.method, headers, what, ...(req.signal ? { signal: req.signal } : {}) }, (h) => {
        location = redirectLocation(h.status, h.headers['location']);
        return location === undefined ? onHead(h) : undefined;
      });
      if (location === undefined) return head;
      const next = nextHop(url, location, hop);
      if (next.origin !== start && !crossed) {
        crossed = true;
        headers = crossOriginHeaders(headers);
      }
      url = next;
    }
  }
}
