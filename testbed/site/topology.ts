/**
 * The site's network, all in namespaces of its own: a router namespace holding the LAN
 * bridge (10.90.0.1/24) and the WAN link, one namespace per node on the bridge
 * (10.90.0.11, .12, ...), and the upstream registry's namespace behind the WAN
 * (10.91.0.2). Both ends of every node link are shaped to the LAN rate with tbf, both
 * ends of the WAN link to the WAN rate (plus netem delay where the kernel has netem).
 * Counters: the router's WAN interface (bytes that crossed the WAN), an nftables counter
 * per node in the router's forward path (WAN bytes for that node), and the bridge port
 * of each node (every byte the node received).
 */
import { run, must } from '../proc.ts';
import type { TestNode } from '../netns.ts';

export const LAN_GATEWAY = '10.90.0.1';
export const UPSTREAM_IP = '10.91.0.2';
const WAN_ROUTER_IP = '10.91.0.1';

export interface SiteHost extends TestNode {
  /** n1, n2, ...; router; upstream */
  label: string;
}

export interface LinkSpec {
  lanRate: string;
  wanRate: string;
  /** One-way delay on the WAN, each direction. */
  wanDelayMs: number;
}

export interface Counters {
  /** Bytes the router received from the WAN, and sent to it. */
  wanDown: number;
  wanUp: number;
  /** Per node: bytes from the WAN, all bytes the node received, and all it sent. */
  nodes: { wan: number; total: number; sent: number }[];
}

export interface SiteNetwork {
  router: SiteHost;
  upstream: SiteHost;
  nodes: SiteHost[];
  /** What the WAN link actually is here (netem may be missing from the kernel). */
  wan: { rate: string; delayMs: number; note?: string };
  counters(): Promise<Counters>;
  /** SIGKILLs every process in the namespace. */
  killAll(host: SiteHost): Promise<void>;
  /** Sets the rate at which a node sends into the LAN (its end of the link); `undefined`: the LAN rate again. */
  shapeUplink(node: SiteHost, rate?: string): Promise<void>;
  destroy(): Promise<void>;
}

function host(prefix: string, label: string, ip: string): SiteHost {
  const ns = `${prefix}${label}`;
  return { label, ns, ip, exec: (cmd, args) => ['ip', ['netns', 'exec', ns, cmd, ...args]], destroy: async () => undefined };
}

async function killAll(ns: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const pids = (await run('ip', ['netns', 'pids', ns])).stdout.split('\n').filter(Boolean);
    if (pids.length === 0) return;
    await run('kill', ['-9', ...pids]);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`processes in namespace ${ns} would not die`);
}

/** Namespaces named with `prefix` that an earlier, killed run left behind. */
export async function leftoverNamespaces(prefix: string): Promise<string[]> {
  const out = (await run('ip', ['netns', 'list'])).stdout;
  return out
    .split('\n')
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

function tbfArgs(rate: string): string[] {
  return ['rate', rate, 'burst', rate.endsWith('gbit') ? '1mb' : '64kb', 'latency', '100ms'];
}

async function tc(ns: string, dev: string, rate: string, delayMs: number): Promise<string | undefined> {
  const tbf = tbfArgs(rate);
  if (delayMs <= 0) {
    await must('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', ...tbf]);
    return undefined;
  }
  const netem = await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'netem', 'delay', `${delayMs}ms`, 'limit', '100000']);
  if (netem.code !== 0) {
    await must('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', ...tbf]);
    return `no added latency: this kernel has no netem qdisc (tc: ${netem.stderr.trim()}), so the WAN is rate-shaped only`;
  }
  await must('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'parent', '1:1', 'handle', '10:', 'tbf', ...tbf]);
  return undefined;
}

export async function createSiteNetwork(prefix: string, nodeCount: number, link: LinkSpec): Promise<SiteNetwork> {
  const router = host(prefix, 'router', LAN_GATEWAY);
  const upstream = host(prefix, 'upstream', UPSTREAM_IP);
  const nodes = Array.from({ length: nodeCount }, (_, i) => host(prefix, `n${i + 1}`, `10.90.0.${11 + i}`));
  const all = [router, upstream, ...nodes];
  const destroy = async () => {
    for (const h of all) {
      if (!(await leftoverNamespaces(h.ns)).includes(h.ns)) continue;
      await killAll(h.ns);
      await run('ip', ['netns', 'del', h.ns]);
    }
  };
  let wanNote: string | undefined;
  try {
    for (const h of all) {
      await must('ip', ['netns', 'add', h.ns]);
      await must('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
    }
    const r = router.ns;
    await must('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await must('ip', ['-n', r, 'link', 'add', 'br0', 'type', 'bridge']);
    await must('ip', ['-n', r, 'addr', 'add', `${LAN_GATEWAY}/24`, 'dev', 'br0']);
    await must('ip', ['-n', r, 'link', 'set', 'br0', 'up']);
    for (const [i, n] of nodes.entries()) {
      const port = `lan${i + 1}`;
      await must('ip', ['link', 'add', 'eth0', 'netns', n.ns, 'type', 'veth', 'peer', 'name', port, 'netns', r]);
      await must('ip', ['-n', r, 'link', 'set', port, 'master', 'br0']);
      await must('ip', ['-n', r, 'link', 'set', port, 'up']);
      await must('ip', ['-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', 'eth0']);
      await must('ip', ['-n', n.ns, 'link', 'set', 'eth0', 'up']);
      await must('ip', ['-n', n.ns, 'route', 'add', 'default', 'via', LAN_GATEWAY]);
      await tc(n.ns, 'eth0', link.lanRate, 0);
      await tc(r, port, link.lanRate, 0);
    }
    await must('ip', ['link', 'add', 'wan0', 'netns', r, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstream.ns]);
    await must('ip', ['-n', r, 'addr', 'add', `${WAN_ROUTER_IP}/24`, 'dev', 'wan0']);
    await must('ip', ['-n', r, 'link', 'set', 'wan0', 'up']);
    await must('ip', ['-n', upstream.ns, 'addr', 'add', `${UPSTREAM_IP}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', upstream.ns, 'link', 'set', 'eth0', 'up']);
    await must('ip', ['-n', upstream.ns, 'route', 'add', 'default', 'via', WAN_ROUTER_IP]);
    const notes = [await tc(r, 'wan0', link.wanRate, link.wanDelayMs), await tc(upstream.ns, 'eth0', link.wanRate, link.wanDelayMs)];
    wanNote = notes.find((n) => n !== undefined);
    const rules = nodes.map((n) => `add rule inet site wan_in ip saddr ${UPSTREAM_IP} ip daddr ${n.ip} counter`).join('\n');
    await must('ip', ['netns', 'exec', r, 'nft', '-f', '-'], { input: `add table inet site\nadd chain inet site wan_in { type filter hook forward priority 0; }\n${rules}\n` });
  } catch (err) {
    await destroy();
    throw err;
  }

  return {
    router,
    upstream,
    nodes,
    wan: { rate: link.wanRate, delayMs: wanNote ? 0 : link.wanDelayMs, ...(wanNote ? { note: wanNote } : {}) },
    async counters() {
      const r = router.ns;
      const script = ['wan0', ...nodes.map((_, i) => `lan${i + 1}`)].map((d) => `cat /sys/class/net/${d}/statistics/rx_bytes /sys/class/net/${d}/statistics/tx_bytes`).join('; ');
      const [sysfs, nft] = await Promise.all([must('ip', ['netns', 'exec', r, 'sh', '-c', script]), must('ip', ['netns', 'exec', r, 'nft', '-j', 'list', 'chain', 'inet', 'site', 'wan_in'])]);
      const v = sysfs.trim().split('\n').map(Number);
      const byNode = new Map<string, number>();
      for (const item of (JSON.parse(nft) as { nftables: { rule?: { expr: { match?: { right: string }; counter?: { bytes: number } }[] } }[] }).nftables) {
        const expr = item.rule?.expr;
        if (!expr) continue;
        const ip = expr[1]?.match?.right;
        const bytes = expr.find((e) => e.counter)?.counter?.bytes;
        if (ip && bytes !== undefined) byNode.set(ip, bytes);
      }
      return { wanDown: v[0]!, wanUp: v[1]!, nodes: nodes.map((n, i) => ({ wan: byNode.get(n.ip) ?? 0, total: v[2 + 2 * i + 1]!, sent: v[2 + 2 * i]! })) };
    },
    killAll: (h) => killAll(h.ns),
    shapeUplink: async (h, rate) => void (await must('ip', ['netns', 'exec', h.ns, 'tc', 'qdisc', 'change', 'dev', 'eth0', 'root', 'tbf', ...tbfArgs(rate ?? link.lanRate)])),
    destroy,
  };
}
