/**
 * A source that answers a manifest request at once and then sends its body a byte a second
 * (headers and bytes keep coming, so no idle timeout fires). The whole exchange has a
 * deadline, `pull.stall_after`: past it the source has stalled, the upstream is retried a few
 * times, and the pull fails with a message that says so, instead of hanging.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullBed } from '../helpers/pull-bed.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('a source that trickles a manifest', () => {
  const dir = tempDir('ks-trickle-');
  let server: Server;
  let host: string;
  const timers = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '4000' });
      if (req.method === 'HEAD') return void res.end();
      const t = setInterval(() => res.write('{'), 1000);
      timers.add(t);
      res.on('close', () => {
        clearInterval(t);
        timers.delete(t);
      });
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
    ['by digest (GET manifests/<digest>)', `app@sha256:${'0'.repeat(64)}`],
    ['by tag (HEAD without a digest header, then GET)', 'app:v1'],
  ])('%s: fails as stalled instead of hanging', async (_what, ref) => {
    const r = await bed(ref.replace(/\W/g, '-')).prepull([`${host}/${ref}`]);
    expect(r.signal, 'it ended by itself').toBeNull();
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.error?.message).toMatch(/no complete answer within 2s/);
  }, 120_000);
});
