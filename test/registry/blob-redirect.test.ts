/**
 * Redirects of blob downloads (the big registries send blobs to storage hosts this way), on
 * real node:http and node:https servers: to another origin the request goes without the
 * source's Authorization, hosts.toml custom headers and client certificate; the same origin
 * keeps them; other schemes and https-to-http are refused.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobGet, type BlobGetOptions, type ResponseHead } from '../../src/registry/blob-get.ts';
import { makeCerts, type TestCerts } from '../helpers/certs.ts';
import { tempDir } from '../helpers/tmp.ts';

const BODY = Buffer.from('the blob');

interface Seen {
  headers: IncomingMessage['headers'];
  clientCert: boolean;
}

/** A server that answers `handler`, recording what each request carried. */
async function serve(kind: 'http' | 'https', certs: TestCerts, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ origin: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as TLSSocket;
    seen.push({ headers: req.headers, clientCert: kind === 'https' && Object.keys(socket.getPeerCertificate?.() ?? {}).length > 0 });
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

async function get(url: string, opts: Partial<BlobGetOptions>): Promise<{ head: ResponseHead; body: Buffer }> {
  const chunks: Buffer[] = [];
  const head = await blobGet(new URL(url), { headers: {}, connectTimeoutMs: 5000, ...opts }, () => ({ data: (c) => void chunks.push(Buffer.from(c)) }));
  return { head, body: Buffer.concat(chunks) };
}

const SOURCE_HEADERS = { 'user-agent': 'kairos-spegel/test', range: 'bytes=0-', authorization: 'Bearer secret-token', 'x-registry-token': 'hosts-toml-secret' };

describe('blob redirects', () => {
  const dir = tempDir('ks-redirect-');
  let certs: TestCerts;
  const servers: Server[] = [];
  const start = async (kind: 'http' | 'https', handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const s = await serve(kind, certs, handler);
    servers.push(s.server);
    return s;
  };
  const tls = () => ({ ca: readFileSync(certs.ca, 'utf8'), cert: readFileSync(certs.clientCert, 'utf8'), key: readFileSync(certs.clientKey, 'utf8') });

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
    const { head, body } = await get(`${registry.origin}/v2/app/blobs/sha256:x`, { headers: { ...SOURCE_HEADERS }, tls: tls() });
    expect(head.status).toBe(200);
    expect(body).toEqual(BODY);
    expect(registry.seen[0]).toMatchObject({ headers: expect.objectContaining({ authorization: 'Bearer secret-token', 'x-registry-token': 'hosts-toml-secret' }), clientCert: true });
    expect(storage.seen).toHaveLength(1);
    expect(storage.seen[0]!.headers).toMatchObject({ range: 'bytes=0-', 'user-agent': 'kairos-spegel/test' });
    expect(storage.seen[0]!.headers['authorization']).toBeUndefined();
    expect(storage.seen[0]!.headers['x-registry-token']).toBeUndefined();
    expect(storage.seen[0]!.clientCert).toBe(false);
  });

  it('within the same origin: everything goes on', async () => {
    const registry = await start('http', (req, res) => (req.url === '/final' ? blob(req, res) : redirectTo('/final')(req, res)));
    const { body } = await get(`${registry.origin}/v2/app/blobs/sha256:x`, { headers: { ...SOURCE_HEADERS } });
    expect(body).toEqual(BODY);
    expect(registry.seen[1]!.headers).toMatchObject({ authorization: 'Bearer secret-token', 'x-registry-token': 'hosts-toml-secret' });
  });

  it.each(['file:///etc/passwd', 'ftp://127.0.0.1/blob', 'gopher://127.0.0.1:70/x'])('to %s: refused', async (location) => {
    const registry = await start('http', redirectTo(location));
    await expect(get(`${registry.origin}/v2/app/blobs/sha256:x`, { headers: { ...SOURCE_HEADERS } })).rejects.toMatchObject({
      code: 'E_HTTP',
      message: expect.stringMatching(/redirected to a \w+: URL; only http and https are followed/),
    });
  });

  it('from https down to plain http: refused', async () => {
    const plain = await start('http', blob);
    const registry = await start('https', redirectTo(`${plain.origin}/blob`));
    await expect(get(`${registry.origin}/v2/app/blobs/sha256:x`, { headers: { ...SOURCE_HEADERS }, tls: tls() })).rejects.toMatchObject({
      code: 'E_HTTP',
      message: expect.stringMatching(/from https to plain http/),
    });
    expect(plain.seen).toEqual([]);
  });
});
