/** Which addresses can name this node to containerd and to its peers. */
import { isIP } from 'node:net';

function v4Octets(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** Why `ip` cannot be the node's mirror address, or undefined when it can. */
export function unusableReason(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) {
    const [a, b] = v4Octets(ip) as [number, number];
    if (a === 127) return `${ip} is a loopback address; the mirror must be reached at the node's own IP, never localhost (Spegel's NodePort/hostPort does not answer on loopback)`;
    if (a === 169 && b === 254) return `${ip} is a link-local address, which changes and cannot be routed to peers`;
    if (a === 0) return `${ip} is not a usable host address`;
    if (a >= 224) return `${ip} is a multicast or reserved address`;
    return undefined;
  }
  if (family === 6) {
    const lower = ip.toLowerCase();
    if (lower === '::1') return `${ip} is a loopback address; the mirror must be reached at the node's own IP, never localhost`;
    if (lower === '::') return `${ip} is not a usable host address`;
    if (/^fe[89ab]/.test(lower)) return `${ip} is a link-local address, which cannot be used without a zone and is not routable to peers`;
    if (lower.startsWith('ff')) return `${ip} is a multicast address`;
    if (lower.startsWith('::ffff:')) return unusableReason(lower.slice(7));
    return undefined;
  }
  return `${ip} is not an IP address`;
}

/** Host part of a URL: IPv6 addresses go in brackets. */
export function urlHost(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}
