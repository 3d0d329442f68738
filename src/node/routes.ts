/**
 * Default routes from the kernel's route tables in /proc (no `ip` binary, no
 * netlink library): which interfaces carry the node's traffic to the world.
 */
import { readFile } from 'node:fs/promises';

export interface DefaultRoute {
  iface: string;
  metric: number;
  family: 4 | 6;
}

const RTF_UP = 0x1;
const RTF_REJECT = 0x200;

/** /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ... (hex, host byte order). */
export function parseIpv4Routes(text: string): DefaultRoute[] {
  const out: DefaultRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, , flags, , , metric, mask] = f as [string, string, string, string, string, string, string, string];
    const fl = parseInt(flags, 16);
    if (dest === '00000000' && mask === '00000000' && fl & RTF_UP && !(fl & RTF_REJECT)) out.push({ iface, metric: parseInt(metric, 10), family: 4 });
  }
  return out;
}

/** /proc/net/ipv6_route: dest plen src splen nexthop metric refcnt use flags iface (hex). */
export function parseIpv6Routes(text: string): DefaultRoute[] {
  const out: DefaultRoute[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, plen, , , , metric, , , flags, iface] = f as [string, string, string, string, string, string, string, string, string, string];
    const fl = parseInt(flags, 16);
    if (/^0{32}$/.test(dest) && plen === '00' && iface !== 'lo' && fl & RTF_UP && !(fl & RTF_REJECT)) out.push({ iface, metric: parseInt(metric, 16), family: 6 });
  }
  return out;
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** IPv4 default routes first, then IPv6, each by ascending metric. */
export async function defaultRoutes(procDir = '/proc'): Promise<DefaultRoute[]> {
  const [v4, v6] = await Promise.all([readOrEmpty(`${procDir}/net/route`), readOrEmpty(`${procDir}/net/ipv6_route`)]);
  const byMetric = (a: DefaultRoute, b: DefaultRoute) => a.metric - b.metric;
  return [...parseIpv4Routes(v4).sort(byMetric), ...parseIpv6Routes(v6).sort(byMetric)];
}
