/**
 * Samples the site's counters while a scenario runs: bytes that crossed the WAN, and per
 * node the bytes it received from the WAN and from its peers, as differences from the
 * moment the meter started.
 */
import type { Counters, SiteNetwork } from '../../testbed/site/topology.ts';

export interface Sample {
  /** ms since the meter started */
  t: number;
  wanDown: number;
  wanUp: number;
  nodes: { wan: number; peers: number }[];
}

export interface Meter {
  /** ms since the meter started */
  now(): number;
  stop(): Promise<Sample[]>;
}

function delta(c: Counters, base: Counters, t: number): Sample {
  return {
    t,
    wanDown: c.wanDown - base.wanDown,
    wanUp: c.wanUp - base.wanUp,
    nodes: c.nodes.map((n, i) => {
      const wan = n.wan - base.nodes[i]!.wan;
      return { wan, peers: Math.max(0, n.total - base.nodes[i]!.total - wan) };
    }),
  };
}

export async function startMeter(net: SiteNetwork, everyMs = 250): Promise<Meter> {
  const base = await net.counters();
  const t0 = performance.now();
  const samples: Sample[] = [{ t: 0, wanDown: 0, wanUp: 0, nodes: base.nodes.map(() => ({ wan: 0, peers: 0 })) }];
  let stopped = false;
  const loop = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() sets it
    while (!stopped) {
      await new Promise((r) => setTimeout(r, everyMs));
      samples.push(delta(await net.counters(), base, performance.now() - t0));
    }
  })();
  return {
    now: () => performance.now() - t0,
    async stop() {
      stopped = true;
      await loop;
      samples.push(delta(await net.counters(), base, performance.now() - t0));
      return samples;
    },
  };
}
