/**
 * Redirects (the big registries send blobs, sometimes manifests, to storage hosts this way),
 * on real node:http and node:https servers, for both request paths: blobs (blob-get.ts) and
 * manifests (undici, through source.ts's send). To another origin the request goes without
 * the source's Authorization, hosts.toml custom headers and client certificate; the same
 * origin keeps them; other schemes, https-to-http and endless chains are refused.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryHost } from '../../src/hosts/hosts-file.ts';
import { blobGet } from '../../src/registry/blob-get.ts';
import { createDispatchers, send, type Source, type TlsOptions } from '../../src/registry/source.ts';
import { makeCerts, type TestCerts } from '../../testbed/certs.ts';
import { tempDir } from '../../testbed/tmp.ts';

const BODY = Buffer.from('the blob');

interface Seen {
  headers: IncomingMessage['headers'];
  clientCert: boolean;
}

/** A server that answers `handler`, recording what each request carried. */
async function serve(kind: 'http' | 'https', certs: TestCerts, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ origin: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    seen.push({ headers: req.headers, clientCert: socket instanceof TLSSocket && Object.keys(socket.getPeerCertificate()).length > 0 });
    handler(req, res);
  };
  const server =
    kind === 'http'
      ? createHttp(onRequest)
      : createHttps({ cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey), ca: readFileSync(certs.ca), requestCert: true, rejectUnauthorized: false }, onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `${kind}://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const blob = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { 'content-length': String(BODY.length) }).end(BODY);
const redirectTo = (location: string) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(307, { location, 'content-length': '0' }).end();

/** What the source sends: ours and the registry's token, and one header from hosts.toml. */
const REQUEST_HEADERS = { 'user-agent': 'kairos-spegel/test', range: 'bytes=0-', authorization: 'Bearer secret-token' };
const HOSTS_TOML_HEADER = { 'x-registry-token': 'hosts-toml-secret' };

type Client = (origin: string, tls?: TlsOptions) => Promise<{ status: number; body: Buffer }>;

const CLIENTS: Record<string, Client> = {
  async blob(origin, tls) {
    const chunks: Buffer[] = [];
    const head = await blobGet(new URL(`${origin}/v2/app/blobs/sha256:x`), { headers: { ...REQUEST_HEADERS, ...HOSTS_TOML_HEADER }, connectTimeoutMs: 5000, ...(tls ? { tls } : {}) }, () => ({
      data: (c) => void chunks.push(Buffer.from(c)),
    }));
    return { status: head.status, body: Buffer.concat(chunks) };
  },
  async manifest(origin, tls = {}) {
    const url = new URL(origin);
    const host: RegistryHost = {
      scheme: url.protocol === 'https:' ? 'https' : 'http',
      host: url.host,
      path: '/v2',
      capabilities: new Set(['pull', 'resolve']),
      header: { 'x-registry-token': ['hosts-toml-secret'] },
      isServer: true,
    };
    const source: Source = { origin, role: 'upstream', host, registry: url.host, ...createDispatchers(host, tls), tls, connectTimeoutMs: 5000 };
    try {
      const res = await send(source, 'app', 'manifests', 'v1', { method: 'GET', headers: { ...REQUEST_HEADERS } });
      return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
    } finally {
      await Promise.all([source.dispatcher.close(), source.foreignDispatcher.close()]);
    }
  },
};

describe.each(Object.keys(CLIENTS))('%s redirects', (kind) => {
  const get = CLIENTS[kind]!;
  const dir = tempDir(`ks-redirect-${kind}-`);
  let certs: TestCerts;
  const servers: Server[] = [];
  const start = async (scheme: 'http' | 'https', handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const s = await serve(scheme, certs, handler);
    servers.push(s.server);
    return s;
  };
  const tls = () => ({ ca: [readFileSync(certs.ca, 'utf8')], cert: readFileSync(certs.clientCert, 'utf8'), key: readFileSync(certs.clientKey, 'utf8') });

  beforeAll(async () => {
    certs = await makeCerts(dir, '127.0.0.1');
  });
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it("to another origin: only the request goes on, not the source's Authorization, custom headers or client certificate", async () => {
    const storage = await start('https', blob);
    const registry = await start('https', redirectTo(`${storage.origin}/signed?sig=abc`));
    const { status, body } = await get(registry.origin, tls());
    expect(status).toBe(200);
    expect(body).toEqual(BODY);
    expect(registry.seen[0]).toMatchObject({ headers: expect.objectContaining({ authorization: 'Bearer secret-token', 'x-registry-token': 'hosts-toml-secret' }), clientCert: true });
    expect(storage.seen).toHaveLength(1);
    expect(storage.seen[0]!.headers).toMatchObject({ range: 'bytes=0-', 'user-agent': 'kairos-spegel/test' });
    expect(storage.seen[0]!.headers['authorization']).toBeUndefined();
    expect(storage.seen[0]!.headers['x-registry-token']).toBeUndefined();
    expect(storage.seen[0]!.clientCert).toBe(false);
  });

  it('back to the first origin after leaving it: the credentials stay dropped', async () => {
    let registryOrigin = '';
    const storage = await start('http', (_req, res) => redirectTo(`${registryOrigin}/final`)(_req, res));
    const registry = await start('http', (req, res) => (req.url === '/final' ? blob(req, res) : redirectTo(`${storage.origin}/hop`)(req, res)));
    registryOrigin = registry.origin;
    expect((await get(registry.origin)).body).toEqual(BODY);
    expect(registry.seen).toHaveLength(2);
    expect(registry.seen[1]!.headers['authorization']).toBeUndefined();
    expect(registry.seen[1]!.headers['x-registry-token']).toBeUndefined();
  });

  it('within the same origin: everything goes on', async () => {
    const registry = await start('http', (req, res) => (req.url === '/final' ? blob(req, res) : redirectTo('/final')(req, res)));
    const { body } = await get(registry.origin);
    expect(body).toEqual(BODY);
    expect(registry.seen[1]!.headers).toMatchObject({ authorization: 'Bearer secret-token', 'x-registry-token': 'hosts-toml-secret' });
  });

  it.each(['file:///etc/passwd', 'ftp://127.0.0.1/blob', 'gopher://127.0.0.1:70/x'])('to %s: refused', async (location) => {
    const registry = await start('http', redirectTo(location));
    await expect(get(registry.origin)).rejects.toMatchObject({
      code: 'E_HTTP',
      message: expect.stringMatching(/redirected to a \w+: URL; only http and https are followed/),
    });
  });

  it('from https down to plain http: refused', async () => {
    const plain = await start('http', blob);
    const registry = await start('https', redirectTo(`${plain.origin}/blob`));
    await expect(get(registry.origin, tls())).rejects.toMatchObject({ code: 'E_HTTP', message: expect.stringMatching(/from https to plain http/) });
    expect(plain.seen).toEqual([]);
  });

  it('an endless chain: refused after 5 hops', async () => {
    const registry = await start('http', (req, res) => redirectTo(`/hop${Number(req.url?.replace(/\D/g, '') || 0) + 1}`)(req, res));
    await expect(get(registry.origin)).rejects.toMatchObject({ code: 'E_HTTP', message: expect.stringMatching(/more than 5 redirects/) });
    expect(registry.seen).toHaveLength(6);
  });
});
