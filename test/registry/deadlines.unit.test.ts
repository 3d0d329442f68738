/**
 * The whole-exchange deadlines of the small answers outside the manifest path, on their own:
 * a token server and a `health` probe target that trickle their headers or their body (a byte
 * every 200 ms, so no idle timeout ever fires) are given up on at the deadline.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/fs/root.ts';
import { probeEndpoint } from '../../src/health/probe.ts';
import { Transport } from '../../src/registry/transport/transport.ts';

const DEADLINE_MS = 1000;

describe('deadlines of small exchanges', () => {
  let server: Server;
  let origin: string;
  const timers = new Set<NodeJS.Timeout>();

  /** Sends `text` a byte every 200 ms, raw on the socket (a head) or as the body. */
  function dribble(res: ServerResponse, text: string, raw: boolean) {
    let i = 0;
    const write = (c: string) => (raw ? res.socket?.write(c) : res.write(c));
    const t = setInterval(() => (i < text.length ? write(text[i++]!) : undefined), 200);
    timers.add(t);
    res.socket?.on('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  }

  beforeAll(async () => {
    server = createServer((req, res) => {
      // The registry: every request is challenged, the realm is this server too, by the kind of trickle.
      if (req.url!.startsWith('/v2/')) {
        const kind = req.url!.split('/')[2];
        return res.writeHead(401, { 'www-authenticate': `Bearer realm="${origin}/${kind}/token",service="registry.test"`, 'content-length': '0' }).end();
      }
      if (req.url!.includes('slow-head')) return dribble(res, `HTTP/1.1 200 OK\r\nx-padding: ${'a'.repeat(4000)}\r\n\r\n{}`, true);
      res.writeHead(200, { 'content-length': '4000', 'content-type': 'application/json' }).flushHeaders();
      dribble(res, ' '.repeat(4000), false);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it.each(['slow-head', 'slow-body'])('a token server sending a %s: E_STALLED at the deadline', async (kind) => {
    const transport = new Transport({ origin, tls: {}, connectTimeoutMs: 1000, auth: { registry: 'registry.test', credential: undefined, deadlineMs: DEADLINE_MS } });
    const started = performance.now();
    await expect(transport.fetch({ method: 'GET', url: new URL(`${origin}/v2/${kind}/manifests/v1`), what: 'the manifest', scope: 'repository:app:pull', limit: 4096 })).rejects.toMatchObject({
      code: 'E_STALLED',
      message: `token server ${origin} for registry.test (repository:app:pull, anonymously): no complete answer within 1s`,
    });
    // Without the deadline the exchange lasts as long as the server keeps sending: 4000 bytes at 5 a second.
    expect(performance.now() - started).toBeLessThan(60_000);
    await transport.close();
  });

  it.each(['slow-head', 'slow-body'])("a mirror whose /v2/ sends a %s: health's probe calls it down at its timeout", async (kind) => {
    // The probe asks `${url}/v2/`: the path prefix routes this server's answer.
    const probe = await probeEndpoint(`${origin}/${kind}`, { root: new Root('/'), dialTimeoutMs: 1000, httpTimeoutMs: DEADLINE_MS });
    expect(probe.state).toBe('down');
    expect(probe.tcp.ok).toBe(true);
    expect(probe.reason).toMatch(/^GET \/v2\/ failed: /);
  });
});
