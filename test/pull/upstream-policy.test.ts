/**
 * The WAN policy and the upstream rate limit, observed at recording proxies in front of a
 * real registry: `never` sends nothing upstream, `after` waits for the mirror first (and
 * takes from it when a peer gets the content meanwhile), the token bucket holds the
 * upstream rate, and progress is logged while it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spegelNotFound, type Proxy } from '../../testbed/fault-proxy.ts';
import type { LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { startProxiedImage, type ProxiedImage } from '../../testbed/proxied-image.ts';
import { run } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { AGENT } from '../../testbed/agent.ts';
import { tempDir } from '../../testbed/tmp.ts';

const MiB = 1024 * 1024;

describe('upstream policy', () => {
  const dir = tempDir('ks-policy-');
  let src: ProxiedImage;
  let registry: LoopbackRegistry;
  let mirror: Proxy;
  let upstream: Proxy;
  let image: string;
  let beds = 0;

  function bed(block = ''): PullBed {
    const b = new PullBed(`${dir}/bed${++beds}`);
    b.hosts(registry.host, [mirror.url], upstream.url);
    b.config(block);
    mirror.requests.length = 0;
    upstream.requests.length = 0;
    return b;
  }

  beforeAll(async () => {
    src = await startProxiedImage(dir, 'kairos/policy:v1', 2, Math.floor(3.5 * MiB));
    ({ registry, image, mirror, upstream } = src);
  });
  afterAll(() => src?.stop());

  it('never, with an empty mirror: a clear failure, and nothing sent upstream', async () => {
    mirror.setRule((q) => spegelNotFound(q.url));
    upstream.setRule(undefined);
    const tag = await bed().prepull([image, '--upstream', 'never']);
    expect(tag.code).toBe(1);
    expect(tag.error!.message).toContain(`cannot resolve ${image} to a digest: the upstream registry may not be used (--upstream never)`);
    // Checked after each run: bed() starts every run with empty request logs.
    expect(upstream.requests).toEqual([]);
    const digest = (await bed().prepull([image])).json!.digest;
    const pinned = await bed().prepull([`${registry.host}/kairos/policy@${digest}`, '--upstream', 'never']);
    expect(pinned.code).toBe(1);
    expect(pinned.error!.message).toMatch(/no source could provide manifest .*: not found; upstream: not used \(--upstream never\)/);
    expect(pinned.error!.hint).toMatch(/allow the upstream registry/);
    expect(upstream.requests).toEqual([]);
  });

  it('after 3s: only the mirror is asked for about 3 s, then the upstream', async () => {
    mirror.setRule((q) => spegelNotFound(q.url));
    const b = bed();
    const started = performance.now();
    const r = await b.prepull([image, '--upstream', 'after 3s']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [head, ...content] = upstream.requests;
    expect(head).toMatchObject({ method: 'HEAD' }); // the tag, resolved at once (about a kilobyte)
    expect(head!.at - started).toBeLessThan(1500);
    expect(content.length).toBeGreaterThan(0);
    for (const q of content) expect(q.at - started, q.url).toBeGreaterThanOrEqual(2900);
    expect(Math.min(...content.map((q) => q.at)) - started).toBeLessThan(6000);
    expect(mirror.requests.filter((q) => q.url.includes('/manifests/')).length).toBeGreaterThan(1); // asked again while waiting
    // Said at the start, and at the switch, with the registry and the reason (journald reads these).
    const lines = r.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; msg: string; registry?: string; upstream_at?: string });
    const opens = lines.find((l) => l.msg.startsWith(`the upstream registry ${registry.host} may be used from `));
    expect(opens).toMatchObject({ level: 'info', registry: registry.host, upstream_at: expect.stringMatching(/^\d{4}-/) as unknown });
    const switched = lines.filter((l) => l.msg.startsWith('switching to the upstream registry'));
    expect(switched).toHaveLength(1);
    expect(switched[0]).toMatchObject({ level: 'warn', registry: registry.host });
    expect(switched[0]!.msg).toMatch(
      new RegExp(`^switching to the upstream registry ${registry.host}: the peers did not have manifest sha256:\\w+ of ${image} within \\d+s \\(--upstream after 3s\\)$`),
    );
    b.verifyBlobs();
  });

  it('after 1m: a peer that gets the content meanwhile serves it, and the WAN is not used', async () => {
    let peerHasIt = false;
    mirror.setRule((q) => (peerHasIt ? undefined : spegelNotFound(q.url)));
    setTimeout(() => (peerHasIt = true), 2500);
    const b = bed();
    const r = await b.prepull([image, '--upstream', 'after 1m']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(upstream.requests.map((q) => q.method)).toEqual(['HEAD']);
    expect(r.json!.bytes.from_upstream).toBe(0);
    expect(r.json!.bytes.from_peers).toBeGreaterThan(7 * MiB);
  });

  it('no mirror for the registry: one warning that names it and says how to fix it; none with a mirror', async () => {
    mirror.setRule(undefined);
    const noMirror = new PullBed(`${dir}/bed${++beds}`);
    noMirror.hosts(registry.host, [], upstream.url);
    const r = await noMirror.prepull([image]);
    expect(r.code, r.stderr).toBe(0);
    const warns = r.stderr.split('\n').filter((l) => l.includes('no mirror is configured'));
    expect(warns).toHaveLength(1);
    expect(JSON.parse(warns[0]!)).toMatchObject({
      level: 'warn',
      registry: registry.host,
      hosts: expect.stringContaining(`${registry.host}/hosts.toml`) as unknown,
      hint: expect.stringContaining("run 'kairos-spegel configure'") as unknown,
      msg: `no mirror is configured for ${registry.host}: everything comes from the upstream registry, nothing from the peers`,
    });
    // Control: the same pull with a mirror says nothing of the kind.
    const withMirror = await bed().prepull([image]);
    expect(withMirror.code).toBe(0);
    expect(withMirror.stderr).not.toContain('no mirror is configured');
  });

  it('upstream_rate_limit holds the upstream rate within 5%, and progress is logged every 5 s', async () => {
    mirror.setRule((q) => spegelNotFound(q.url));
    const limit = MiB;
    const b = bed('  pull:\n    upstream_rate_limit: 1MiB/s\n');
    const r = await b.prepull([image]);
    const finished = performance.now();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The agent's consumption: from the first upstream request until it had every byte
    // (kernel socket buffers make the proxy's own send times meaningless here).
    const bytes = r.json!.bytes.from_upstream;
    const seconds = (finished - upstream.requests[0]!.at) / 1000;
    expect(bytes / seconds).toBeLessThanOrEqual(limit * 1.05);
    expect(bytes / seconds).toBeGreaterThan(limit * 0.8);
    const progress = r.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"pulling"'))
      .map((l) => JSON.parse(l) as { time: string; done: number; total: number; bytes_per_sec: number; from_upstream: number });
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toMatchObject({ total: r.json!.size, from_upstream: expect.any(Number) });
    const times = [
      Date.parse(
        r.stderr
          .split('\n')
          .find((l) => l.includes('"msg":"prepull"'))!
          .match(/"time":"([^"]+)"/)![1]!,
      ),
      ...progress.map((p) => Date.parse(p.time)),
    ];
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(5500);
  });

  it('draws a progress bar with rate, ETA and the peers/upstream split on a terminal', async () => {
    mirror.setRule(undefined);
    const b = bed('  pull:\n    upstream_rate_limit: 2MiB/s\n');
    mirror.setRule((q) => (q.url.includes('/blobs/') && q.url.includes('sha256') && mirror.requests.filter((x) => x.url.includes('/blobs/')).length === 1 ? undefined : spegelNotFound(q.url)));
    const cmd = `${AGENT} --root ${b.root} prepull ${image}`;
    const r = await run('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, TERM: 'xterm', COLUMNS: '160' } });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\[=*\s*\] \d+% [\d.]+(KiB|MiB)?\/[\d.]+MiB [\d.]+(B|KiB|MiB)\/s ETA \S+ peers \d+% upstream \d+%/);
  });
});
