/**
 * The node's own IP, the address containerd must use to reach the local Spegel mirror:
 * the configured `node_ip`; else the primary address of the configured `interface`;
 * else that of the interface holding the default route. IPv4 is preferred, IPv6 used
 * when the node has no usable IPv4; loopback and link-local never qualify. At boot the
 * address may come late (DHCP), so detection is retried until `wait_for_ip`.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { SystemError } from '../errors.ts';
import { unusableReason } from './ip-address.ts';
import { defaultRoutes, type DefaultRoute } from './routes.ts';

export interface NodeIp {
  ip: string;
  family: 4 | 6;
  /** Interface it was taken from (absent when configured). */
  iface?: string;
  source: 'config' | 'interface' | 'default-route';
}

export interface NodeIpOptions {
  nodeIp?: string;
  iface?: string;
  waitMs: number;
  /** For tests: where the kernel's route tables are, and the interface list. */
  procDir?: string;
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  pollMs?: number;
}

function usable(addrs: NetworkInterfaceInfo[] | undefined, family: 4 | 6): string | undefined {
  const want = family === 4 ? 'IPv4' : 'IPv6';
  return addrs?.find((a) => a.family === want && !a.internal && unusableReason(a.address) === undefined)?.address;
}

/** One detection attempt: the address, or why there is none yet. */
export function pickNodeIp(routes: DefaultRoute[], ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>, iface?: string): NodeIp | string {
  if (iface !== undefined) {
    if (ifaces[iface] === undefined) return `interface ${iface} does not exist (yet)`;
    for (const family of [4, 6] as const) {
      const ip = usable(ifaces[iface], family);
      if (ip) return { ip, family, iface, source: 'interface' };
    }
    return `interface ${iface} has no usable IPv4 or IPv6 address (yet)`;
  }
  if (routes.length === 0) return 'the node has no default route (yet)';
  const candidates = [...new Set(routes.map((r) => r.iface))];
  for (const family of [4, 6] as const) {
    for (const name of candidates) {
      const ip = usable(ifaces[name], family);
      if (ip) return { ip, family, iface: name, source: 'default-route' };
    }
  }
  return `the default-route interface${candidates.length > 1 ? 's' : ''} ${candidates.join(', ')} ha${candidates.length > 1 ? 've' : 's'} no usable address (yet)`;
}

export async function detectNodeIp(opts: NodeIpOptions): Promise<NodeIp> {
  if (opts.nodeIp !== undefined) return { ip: opts.nodeIp, family: opts.nodeIp.includes(':') ? 6 : 4, source: 'config' };
  const deadline = Date.now() + opts.waitMs;
  const list = opts.interfaces ?? networkInterfaces;
  for (;;) {
    const found = pickNodeIp(await defaultRoutes(opts.procDir), list(), opts.iface);
    if (typeof found !== 'string') return found;
    if (Date.now() >= deadline) {
      throw new SystemError(
        'E_NO_NODE_IP',
        `cannot determine the node IP: ${found} after waiting ${Math.round(opts.waitMs / 1000)}s`,
        'set kairos-spegel.node_ip, or kairos-spegel.interface to the interface that connects the node to its peers, or raise kairos-spegel.wait_for_ip',
      );
    }
    await sleep(Math.min(opts.pollMs ?? 500, Math.max(0, deadline - Date.now())));
  }
}
