/**
 * A source that answers a manifest request at once and then sends its body a byte a second,
 * or sends its response headers a byte at a time, or whose token server does either
 * (bytes keep coming, so no idle timeout fires). The whole exchange has a deadline,
 * `pull.stall_after`: past it the source has stalled, the upstream is retried a few times,
 * and the pull fails with a message that says so, instead of hanging.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

describe('a source that trickles a manifest', () => {
  const dir = tempDir('ks-trickle-');
  let server: Server;
  let host: string;
  const timers = new Set<NodeJS.Timeout>();

  /** Sends `text` a byte every 200 ms on the response's socket, as long as the client listens. */
  function dribble(res: ServerResponse, text: string) {
    let i = 0;
    const t = setInterval(() => (i < text.length ? res.socket?.write(text[i++]!) : undefined), 200);
    timers.add(t);
    res.socket?.on('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  }
  const slowBody = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '4000' });
    if (req.method === 'HEAD') return void res.end();
    const t = setInterval(() => res.write('{'), 1000);
    timers.add(t);
    res.on('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  };
  // Raw bytes on the socket: node:http would send a head at once.
  const slowHead = (_req: IncomingMessage, res: ServerResponse) => dribble(res, `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-padding: ${'a'.repeat(4000)}\r\n\r\n`);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const route = req.url!.split('/')[2];
      if (route === 'slow-head') return slowHead(req, res);
      if (route === 'token-body' || route === 'token-head') {
        if (req.headers['authorization']) return void res.writeHead(200, { 'content-length': '2' }).end('{}');
        return void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/${route}-realm",service="trickle"`, 'content-length': '0' }).end();
      }
      if (req.url!.startsWith('/token-body-realm')) return slowBody(req, res);
      if (req.url!.startsWith('/token-head-realm')) return slowHead(req, res);
      return slowBody(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  function bed(name: string): PullBed {
    const b = new PullBed(path.join(dir, name));
    b.hosts(host, []);
    b.config('  pull:\n    stall_after: 2s\n');
    return b;
  }

  it.each([
    ['by digest (GET manifests/<digest>)', `app@sha256:${'0'.repeat(64)}`, /no complete answer within 2s/],
    ['by tag (HEAD without a digest header, then GET)', 'app:v1', /no complete answer within 2s/],
    ['response headers a byte at a time', 'slow-head:v1', /no complete answer within 2s/],
    // The token exchange runs inside the manifest's; whichever deadline ends it, it ends (test/registry/deadlines.unit.test.ts checks the token's own).
    ['a token server that trickles its body', 'token-body:v1', /no complete answer within 2s/],
    ['a token server that trickles its headers', 'token-head:v1', /no complete answer within 2s/],
  ])(
    '%s: fails as stalled instead of hanging',
    async (_what, ref, message) => {
      const r = await bed(ref.replace(/\W/g, '-')).prepull([`${host}/${ref}`]);
      expect(r.signal, 'it ended by itself').toBeNull();
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.error?.message).toMatch(message);
    },
    120_000,
  );
});
