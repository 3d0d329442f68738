/**
 * The one registry transport (src/registry/transport/) on real servers started here:
 * node:http, node:https (certificates made in memory: x509.ts) and raw TCP for answers no
 * HTTP server would send. Both body strategies run every case: `stream` (the raw wire,
 * blobs) and `fetch` (undici, manifests and tokens).
 *
 * - bodies: content-length and chunked; shorter than announced (E_NETWORK), longer (the
 *   extra bytes are not the body); malformed status lines, headers, framing (E_HTTP);
 * - redirects: to another origin the request goes without the source's Authorization,
 *   hosts.toml headers and client certificate; the same origin keeps them; other schemes,
 *   https-to-http and endless chains are refused;
 * - a 401 with a Bearer challenge: a token, then the request again, the token reused;
 * - error bodies: the registry's code and message reach the error, typed and in its
 *   message, without any secret the request carried;
 * - TLS files hosts.toml names but that cannot be used: a configuration error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/fs/root.ts';
import { parseHostsFile } from '../../src/hosts/hosts-file.ts';
import { probeEndpoint } from '../../src/health/probe.ts';
import { openSource } from '../../src/registry/source.ts';
import type { TlsOptions } from '../../src/registry/transport/tls.ts';
import { Transport, type Request, type TransportOptions } from '../../src/registry/transport/transport.ts';
import { tempDir } from '../../testbed/tmp.ts';
import { makeMemoryCerts } from './x509.ts';

const certs = makeMemoryCerts('127.0.0.1');
const BODY = Buffer.from('the blob');
const HOSTS_TOML_HEADER = { 'X-Registry-Token': ['hosts-toml-secret'] };
const TOKEN = 'secret-token-0123456789';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  clientCert: boolean;
}

const listening: (Server | ReturnType<typeof createTcp>)[] = [];
const transports: Transport[] = [];
afterAll(async () => {
  for (const t of transports) await t.close();
  for (const s of listening) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(server: Server | ReturnType<typeof createTcp>): Promise<number> {
  listening.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A server that answers `handler`, recording what each request carried. */
async function serve(kind: 'http' | 'https', handler: Handler): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const onRequest: Handler = (req, res) => {
    const cert = req.socket instanceof TLSSocket ? req.socket.getPeerCertificate() : {};
    seen.push({ url: req.url!, headers: req.headers, clientCert: Object.keys(cert).length > 0 });
    handler(req, res);
  };
  const server = kind === 'http' ? createHttp(onRequest) : createHttps({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requestCert: true, rejectUnauthorized: false }, onRequest);
  return { origin: `${kind}://127.0.0.1:${await listen(server)}`, seen };
}

/** A TCP server that answers any request with `bytes` as they are (then `after`: close, or keep the socket open). */
async function rawServer(bytes: string | Buffer, after: 'close' | 'hold' = 'close'): Promise<string> {
  const server = createTcp((socket: Socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => (after === 'close' ? socket.end(bytes) : socket.write(bytes)));
  });
  return `http://127.0.0.1:${await listen(server)}`;
}

const blob: Handler = (_req, res) => res.writeHead(200, { 'content-length': String(BODY.length) }).end(BODY);
const redirectTo =
  (location: string, status = 307): Handler =>
  (_req, res) =>
    res.writeHead(status, { location, 'content-length': '0' }).end();
const errorBody =
  (status: number, body: string, headers: Record<string, string> = {}): Handler =>
  (_req, res) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);

const clientTls = (): TlsOptions => ({ ca: [certs.ca], cert: certs.clientCert, key: certs.clientKey });

function open(origin: string, opts: Partial<TransportOptions> = {}): Transport {
  const t = new Transport({ origin, tls: {}, connectTimeoutMs: 5000, header: HOSTS_TOML_HEADER, ...opts });
  transports.push(t);
  return t;
}

type Strategy = (t: Transport, url: string, req?: Partial<Request>) => Promise<{ status: number; body: Buffer }>;

const STRATEGIES: Record<'stream' | 'fetch', Strategy> = {
  async stream(t, url, req = {}) {
    const chunks: Buffer[] = [];
    const head = await t.stream({ method: 'GET', url: new URL(url), what: 'the blob', expect: [200, 206], ...req }, () => ({ data: (c) => void chunks.push(Buffer.from(c)) }));
    return { status: head.status, body: Buffer.concat(chunks) };
  },
  async fetch(t, url, req = {}) {
    const answer = await t.fetch({ method: 'GET', url: new URL(url), what: 'the blob', limit: 1 << 20, ...req });
    return { status: answer.status, body: answer.body };
  },
};

/** The headers a request carries besides the transport's own: its range, and an Authorization (as an authorizer would add). */
const CALLER_HEADERS = { range: 'bytes=0-', authorization: `Bearer ${TOKEN}` };

describe.each(Object.keys(STRATEGIES) as (keyof typeof STRATEGIES)[])('%s', (strategy) => {
  const get = STRATEGIES[strategy];

  describe('bodies', () => {
    it('chunked, in pieces that split the framing', async () => {
      // rawServer answers at once; this one spreads a chunked body over several writes.
      const server = createTcp((socket) => {
        socket.once(
          'data',
          () =>
            void (async () => {
              for (const piece of ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nthe ', '\r', '\n4\r\nblo', 'b\r\n0\r\nx-trailer: 1\r\n', '\r\n']) {
                socket.write(piece);
                await new Promise((r) => setTimeout(r, 20));
              }
            })(),
        );
      });
      const origin = `http://127.0.0.1:${await listen(server)}`;
      const { status, body } = await get(open(origin), `${origin}/v2/app/blobs/x`);
      expect(status).toBe(200);
      expect(body.toString()).toBe('the blob');
    });

    it('a chunked answer from node:http', async () => {
      const { origin } = await serve('http', (_req, res) => {
        res.writeHead(200);
        res.write('the ');
        setTimeout(() => res.end('blob'), 20);
      });
      expect((await get(open(origin), `${origin}/blob`)).body.toString()).toBe('the blob');
    });

    it('shorter than its Content-Length: E_NETWORK, the connection closed early', async () => {
      const origin = await rawServer('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b');
      await expect(get(open(origin), `${origin}/blob`)).rejects.toMatchObject({ code: 'E_NETWORK', message: expect.stringMatching(/^the blob: .*closed/) });
    });

    it('longer than its Content-Length: the body is the announced bytes, no more', async () => {
      const origin = await rawServer('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nthe blob and more');
      expect((await get(open(origin), `${origin}/blob`)).body.toString()).toBe('the blob');
    });

    it.each([
      ['a status line that is not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
      ['a header line without a colon', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nnot a header\r\n\r\nok'],
      ['a header name with a space', 'HTTP/1.1 200 OK\r\nContent Length: 2\r\n\r\nok'],
      ['a header value with a bare line feed', 'HTTP/1.1 200 OK\r\nX-A: a\nb: c\r\nContent-Length: 2\r\n\r\nok'],
      ['a Content-Length that is not a number', 'HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok'],
      ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n'],
    ])('%s: E_HTTP, at once', async (_what, answer) => {
      const origin = await rawServer(answer, 'hold');
      const started = performance.now();
      await expect(get(open(origin), `${origin}/blob`)).rejects.toMatchObject({ code: 'E_HTTP', message: expect.stringMatching(/^the blob: (not an HTTP\/1\.1 response|malformed HTTP response)/) });
      expect(performance.now() - started).toBeLessThan(2000);
    });
  });

  describe('redirects', () => {
    it.each([302, 307])("%i to another origin: only the request goes on, not the source's Authorization, hosts.toml headers or client certificate", async (status) => {
      const storage = await serve('https', blob);
      const registry = await serve('https', redirectTo(`${storage.origin}/signed?sig=abc`, status));
      const { body } = await get(open(registry.origin, { tls: clientTls() }), `${registry.origin}/v2/app/blobs/x`, { headers: CALLER_HEADERS });
      expect(body).toEqual(BODY);
      expect(registry.seen[0]).toMatchObject({ headers: expect.objectContaining({ authorization: `Bearer ${TOKEN}`, 'x-registry-token': 'hosts-toml-secret' }), clientCert: true });
      expect(storage.seen).toHaveLength(1);
      expect(storage.seen[0]!.headers).toMatchObject({ range: 'bytes=0-', 'user-agent': expect.stringMatching(/^kairos-spegel\//) });
      expect(storage.seen[0]!.headers['authorization']).toBeUndefined();
      expect(storage.seen[0]!.headers['x-registry-token']).toBeUndefined();
      expect(storage.seen[0]!.clientCert).toBe(false);
    });

    it('back to the first origin after leaving it: the credentials stay dropped', async () => {
      let registryOrigin = '';
      const storage = await serve('http', (req, res) => redirectTo(`${registryOrigin}/final`)(req, res));
      const registry = await serve('http', (req, res) => (req.url === '/final' ? blob(req, res) : redirectTo(`${storage.origin}/hop`)(req, res)));
      registryOrigin = registry.origin;
      expect((await get(open(registry.origin), `${registry.origin}/v2/x`, { headers: CALLER_HEADERS })).body).toEqual(BODY);
      expect(registry.seen).toHaveLength(2);
      expect(registry.seen[1]!.headers['authorization']).toBeUndefined();
      expect(registry.seen[1]!.headers['x-registry-token']).toBeUndefined();
    });

    it('within the same origin: everything goes on', async () => {
      const registry = await serve('http', (req, res) => (req.url === '/final' ? blob(req, res) : redirectTo('/final')(req, res)));
      expect((await get(open(registry.origin), `${registry.origin}/v2/x`, { headers: CALLER_HEADERS })).body).toEqual(BODY);
      expect(registry.seen[1]!.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'x-registry-token': 'hosts-toml-secret' });
    });

    it.each(['file:///etc/passwd', 'ftp://127.0.0.1/blob', 'gopher://127.0.0.1:70/x'])('to %s: refused', async (location) => {
      const registry = await serve('http', redirectTo(location));
      await expect(get(open(registry.origin), `${registry.origin}/v2/x`)).rejects.toMatchObject({
        code: 'E_HTTP',
        message: expect.stringMatching(/redirected to a \w+: URL; only http and https are followed/),
      });
    });

    it('from https down to plain http: refused', async () => {
      const plain = await serve('http', blob);
      const registry = await serve('https', redirectTo(`${plain.origin}/blob`));
      await expect(get(open(registry.origin, { tls: clientTls() }), `${registry.origin}/v2/x`)).rejects.toMatchObject({ code: 'E_HTTP', message: expect.stringMatching(/from https to plain http/) });
      expect(plain.seen).toEqual([]);
    });

    it('an endless chain: refused after 5 hops', async () => {
      const registry = await serve('http', (req, res) => redirectTo(`/hop${Number(req.url?.replace(/\D/g, '') || 0) + 1}`)(req, res));
      await expect(get(open(registry.origin), `${registry.origin}/v2/x`)).rejects.toMatchObject({ code: 'E_HTTP', message: expect.stringMatching(/more than 5 redirects/) });
      expect(registry.seen).toHaveLength(6);
    });
  });

  describe('authentication', () => {
    /** A registry that wants `Bearer <TOKEN>` and then redirects to storage, and the token server its challenge names. */
    async function bearerRegistry(refuse = false) {
      const storage = await serve('http', blob);
      const tokens = await serve('http', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN, expires_in: 300 })));
      const registry = await serve('http', (req, res) => {
        if (!refuse && req.headers.authorization === `Bearer ${TOKEN}`) return redirectTo(`${storage.origin}/signed`)(req, res);
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="registry.test"`, 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: [{ Type: 'repository', Name: 'app', Action: 'pull' }] }] }));
      });
      const t = open(registry.origin, { auth: { registry: 'registry.test', credential: undefined, deadlineMs: 5000 } });
      return { storage, tokens, registry, t };
    }

    it('a 401 with a Bearer challenge: a token from the realm, the request again with it, and the token reused', async () => {
      const { storage, tokens, registry, t } = await bearerRegistry();
      const scope = 'repository:app:pull';
      expect((await get(t, `${registry.origin}/v2/app/blobs/x`, { scope })).body).toEqual(BODY);
      expect((await get(t, `${registry.origin}/v2/app/blobs/y`, { scope })).body).toEqual(BODY);
      expect(tokens.seen).toHaveLength(1);
      expect(new URL(tokens.seen[0]!.url, 'http://x').searchParams.get('scope')).toBe(scope);
      expect(new URL(tokens.seen[0]!.url, 'http://x').searchParams.get('service')).toBe('registry.test');
      // The realm is another host: hosts.toml's headers are the registry's.
      expect(tokens.seen[0]!.headers['x-registry-token']).toBeUndefined();
      expect(registry.seen.map((s) => s.headers.authorization)).toEqual([undefined, `Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
      expect(storage.seen.map((s) => s.headers.authorization)).toEqual([undefined, undefined]);
    });

    it("refused even with the token: E_UNAUTHORIZED, in the registry's words, with a hint", async () => {
      const { registry, t } = await bearerRegistry(true);
      const err = await get(t, `${registry.origin}/v2/app/blobs/x`, { scope: 'repository:app:pull' }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'E_UNAUTHORIZED',
        message: 'registry.test refused anonymous access for repository:app:pull: HTTP 401: UNAUTHORIZED: authentication required',
        registryErrors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
        hint: expect.stringMatching(/add credentials for registry\.test/),
      });
      expect(registry.seen).toHaveLength(2);
    });

    it('without a scope no Authorization is asked for: the 401 is the answer', async () => {
      const { registry, t } = await bearerRegistry();
      await expect(get(t, `${registry.origin}/v2/`)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: 'the blob: HTTP 401: UNAUTHORIZED: authentication required' });
    });
  });

  describe('error bodies', () => {
    it('403 DENIED: in the message and typed', async () => {
      const { origin } = await serve('http', errorBody(403, JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied', detail: null }] })));
      await expect(get(open(origin), `${origin}/v2/app/blobs/x`)).rejects.toMatchObject({
        code: 'E_UNAUTHORIZED',
        message: 'the blob: HTTP 403: DENIED: requested access to the resource is denied',
        registryErrors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }],
      });
    });

    it('429 TOOMANYREQUESTS: in the message and typed, with the Retry-After', async () => {
      const body = JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }, { code: 'EXTRA' }] });
      const { origin } = await serve('http', errorBody(429, body, { 'retry-after': '7' }));
      await expect(get(open(origin), `${origin}/v2/app/blobs/x`)).rejects.toMatchObject({
        code: 'E_RATE_LIMITED',
        message: 'the blob: HTTP 429: TOOMANYREQUESTS: You have reached your pull rate limit.; EXTRA',
        retryAfterMs: 7000,
        registryErrors: [
          { code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' },
          { code: 'EXTRA', message: '' },
        ],
      });
    });

    it('404 with MANIFEST_UNKNOWN: E_NOT_FOUND', async () => {
      const { origin } = await serve('http', errorBody(404, JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] })));
      await expect(get(open(origin), `${origin}/v2/app/manifests/x`)).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: 'the blob: not found (HTTP 404): MANIFEST_UNKNOWN: manifest unknown' });
    });

    it.each([
      ['HTML', '<html><body>502 Bad Gateway</body></html>'],
      ['JSON of another shape', '{"errors":"no","message":1}'],
      ['entries without a code', '{"errors":[{"message":"x"},7,null]}'],
      ['nothing', ''],
    ])('%s: the status alone', async (_what, body) => {
      const { origin } = await serve('http', errorBody(502, body));
      await expect(get(open(origin), `${origin}/v2/x`)).rejects.toMatchObject({ code: 'E_HTTP', message: 'the blob: HTTP 502', registryErrors: [] });
    });

    it('an endless error body: read up to a bound, then the error', async () => {
      const { origin } = await serve('http', (_req, res) => {
        res.writeHead(500);
        const more = () => (res.write(Buffer.alloc(16 * 1024, 0x61)) ? setImmediate(more) : res.once('drain', more));
        more();
      });
      await expect(get(open(origin), `${origin}/v2/x`)).rejects.toMatchObject({ code: 'E_HTTP', message: 'the blob: HTTP 500' });
    });

    it('control characters are removed and secrets the request carried are not echoed', async () => {
      const echo = `Bearer ${TOKEN} and hosts-toml-secret are not allowed\u001b[2J\u202e`;
      const { origin } = await serve('http', errorBody(403, JSON.stringify({ errors: [{ code: 'DENIED', message: echo }] })));
      const err = (await get(open(origin), `${origin}/v2/x`, { headers: CALLER_HEADERS }).catch((e: unknown) => e)) as Error;
      expect(err.message).toBe('the blob: HTTP 403: DENIED: [redacted] and [redacted] are not allowed [2J');
      expect(JSON.stringify(err)).not.toContain(TOKEN);
    });
  });
});

describe('fetch: bounded bodies', () => {
  it('a Content-Length over the limit: E_SIZE before reading', async () => {
    const { origin } = await serve('http', (_req, res) => res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000)));
    await expect(open(origin).fetch({ method: 'GET', url: new URL(`${origin}/m`), what: 'the manifest', limit: 4096 })).rejects.toMatchObject({
      code: 'E_SIZE',
      message: 'the manifest: the answer is larger than 4096 bytes',
    });
  });

  it('a chunked body that grows past the limit: E_SIZE', async () => {
    const { origin } = await serve('http', (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(3000));
      res.end(Buffer.alloc(3000));
    });
    await expect(open(origin).fetch({ method: 'GET', url: new URL(`${origin}/m`), what: 'the manifest', limit: 4096 })).rejects.toMatchObject({ code: 'E_SIZE' });
  });

  it('HEAD: the headers, no body', async () => {
    const { origin } = await serve('http', (_req, res) => res.writeHead(200, { 'docker-content-digest': 'sha256:abc', 'content-length': '9999999' }).end());
    const answer = await open(origin).fetch({ method: 'HEAD', url: new URL(`${origin}/m`), what: 'the manifest', limit: 4096 });
    expect(answer).toMatchObject({ status: 200, headers: expect.objectContaining({ 'docker-content-digest': 'sha256:abc' }), body: Buffer.alloc(0) });
  });
});

describe('TLS files hosts.toml names', () => {
  const root = tempDir('ks-transport-tls-');
  const file = '/etc/containerd/certs.d/registry.test/hosts.toml';
  mkdirSync(path.join(root, '/etc/certs'), { recursive: true });
  writeFileSync(path.join(root, '/etc/certs/ca.pem'), certs.ca);
  writeFileSync(path.join(root, '/etc/certs/garbage.pem'), 'not a certificate\n');
  const host = (settings: string) => parseHostsFile(`server = "https://registry.test"\n\n[host."https://127.0.0.1:5000"]\n${settings}\n`, file, 'registry.test')[0]!;

  it('a CA file that is missing: E_CONFIG naming hosts.toml, the key and the file', async () => {
    await expect(openSource(new Root(root), host('ca = "/etc/certs/missing.pem"'), 'registry.test', { credential: undefined, deadlineMs: 1000 })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: `${file}: host."https://127.0.0.1:5000".ca: /etc/certs/missing.pem: cannot read it: no such file`,
    });
  });

  it('a client certificate that is not PEM: E_CONFIG', async () => {
    await expect(
      openSource(new Root(root), host('client = [["/etc/certs/garbage.pem", "/etc/certs/garbage.pem"]]'), 'registry.test', { credential: undefined, deadlineMs: 1000 }),
    ).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining(`${file}: host."https://127.0.0.1:5000".client: /etc/certs/garbage.pem: not a usable client certificate and key`),
    });
  });

  it("health's probe: the endpoint is down, for that reason", async () => {
    const { origin } = await serve('https', blob);
    const probe = await probeEndpoint(origin, { root: new Root(root), dialTimeoutMs: 1000, httpTimeoutMs: 1000, tls: host('ca = "/etc/certs/missing.pem"') });
    expect(probe).toMatchObject({ state: 'down', reason: `${file}: host."https://127.0.0.1:5000".ca: /etc/certs/missing.pem: cannot read it: no such file` });
  });

  it("health's probe through the transport: /v2/ over TLS with the CA from hosts.toml, then /readyz", async () => {
    const { origin, seen } = await serve('https', (req, res) => res.writeHead(req.url === '/v2/' ? 401 : 200).end('{}'));
    const probe = await probeEndpoint(origin, { root: new Root(root), dialTimeoutMs: 1000, httpTimeoutMs: 1000, tls: host('ca = "/etc/certs/ca.pem"') });
    expect(probe).toMatchObject({ state: 'up', v2: { path: '/v2/', status: 401 }, ready: { path: '/readyz', status: 200 } });
    expect(seen.map((s) => s.url)).toEqual(['/v2/', '/readyz']);
  });
});
