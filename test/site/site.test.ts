/**
 * The five-node edge site (bench/site) with a 96 MB upgrade image behind a 50 Mbit/s WAN:
 * every scenario once, then the promises checked one by one, and the machine checked for
 * anything the site left behind. The benchmark (npm run bench:site) runs the same code
 * with a larger image and writes BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';
import { SCENARIOS, type ScenarioName, type ScenarioResult } from '../../bench/site/scenarios.ts';
import { runSite, type SiteReport } from '../../bench/site/site.ts';
import { leftoverNamespaces } from '../../testbed/site/topology.ts';

const PREFIX = `kst${process.pid}-`;
const BENCH = path.resolve(import.meta.dirname, '../../bench/site.ts');

describe('a five-node edge site with a slow WAN', () => {
  const work = tempDir('ks-site-');
  let report: SiteReport;
  const scenario = (n: ScenarioName): ScenarioResult => report.results.find((r) => r.name === n)!;
  const wan = (r: ScenarioResult) => r.wanDown + r.wanUp;

  beforeAll(async () => {
    report = await runSite({ prefix: PREFIX, work, nodes: 5, imageMb: 96, lanRate: '1gbit', wanRate: '50mbit', wanDelayMs: 20, scenarios: [...SCENARIOS], log: () => undefined });
  }, 1_200_000);

  afterAll(async () => {
    // A failed run must not leave the site behind for the next one either.
    for (const ns of await leftoverNamespaces(PREFIX)) {
      await run('sh', ['-c', `ip netns pids ${ns} | xargs -r kill -9; ip netns del ${ns}`]);
    }
  });

  it('tears everything down: no namespaces, processes, mounts or loop devices are left', async () => {
    expect(await leftoverNamespaces(PREFIX)).toEqual([]);
    const ps = await run('ps', ['-eo', 'pid,args']);
    expect(ps.stdout.split('\n').filter((l) => l.includes(work))).toEqual([]);
    expect(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(work)),
    ).toEqual([]);
    const loops = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
    expect(
      loops.stdout.split('\n').filter((l) => l.includes(work)),
      'the disks of the nodes that upgraded are detached',
    ).toEqual([]);
  });

  it('every command succeeded and every live node holds the image in containerd', () => {
    for (const r of report.results) {
      for (const n of r.nodes) expect(n.exit, `${r.name} ${n.node}: ${n.error}`).toBe(0);
      const alive = r.nodes.filter((n) => !(r.name === 'kill' && n.node === 'n2'));
      for (const n of alive) expect(n.holds, `${r.name} ${n.node}`).toBe(true);
    }
  });

  it('rolling: the WAN carries the image once (<= 1.05 x); nodes 2-5 take it from their peers', () => {
    const r = scenario('rolling');
    expect(wan(r)).toBeLessThanOrEqual(1.05 * report.image.size);
    expect(wan(r)).toBeGreaterThanOrEqual(report.image.size);
    for (const n of r.nodes.slice(1)) expect(n.fromUpstream, n.node).toBe(0);
    for (const n of r.nodes) expect(n.applied, `${n.node}: kairos-agent wrote the new version to its active.img`).toBe(true);
  });

  // Its time (within 1.3 x one node alone) is a benchmark figure: npm run bench:site measures it
  // with the machine to itself (BENCHMARKS.md); beside the rest of the suite the cores are shared.
  it('at once: the WAN carries the image once; every node but the first takes it from its peers', () => {
    const r = scenario('at-once');
    expect(wan(r)).toBeLessThanOrEqual(1.05 * report.image.size);
    for (const n of r.nodes.slice(1)) expect(n.fromUpstream, n.node).toBe(0);
  });

  it('baseline: without the mirror the WAN carries the image about five times', () => {
    const r = scenario('baseline');
    expect(wan(r) / report.image.size).toBeGreaterThan(4.5);
    expect(wan(r) / report.image.size).toBeLessThan(5.5);
  });

  it('a peer killed half way through serving: the others finish from another source, the WAN still carries the image once', () => {
    const r = scenario('kill');
    expect(r.marks.map((m) => m.label)).toEqual(["n1's Spegel stopped", 'n2 killed']);
    const killedAt = r.marks[1]!.t;
    const after = r.nodes.filter((n) => ['n3', 'n4', 'n5'].includes(n.node));
    for (const n of after) {
      expect(n.startedAt).toBeLessThan(killedAt);
      expect(n.endedAt).toBeGreaterThan(killedAt);
      expect(n.fromUpstream, n.node).toBe(0);
    }
    expect(r.notes.join(' ')).toMatch(/^[1-9]\d* transfers broke/);
    expect(wan(r)).toBeLessThanOrEqual(1.05 * report.image.size);
  });

  it('the report names what was checked, and all of it holds (but for time ratios, see above)', () => {
    expect(report.checks.length).toBeGreaterThanOrEqual(14);
    expect(report.checks.filter((c) => c.timing)).toHaveLength(1);
    expect(report.checks.filter((c) => !c.ok && !c.timing)).toEqual([]);
  });

  it('refuses to run without root, saying why', async () => {
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BENCH, '--no-write'], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs root.*sudo/);
  });
});
