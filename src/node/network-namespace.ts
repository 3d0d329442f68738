/**
 * Whether this process is in the node's own network namespace. A Kairos operator NodeOp job
 * runs its command in a privileged pod that shares the node's filesystem (`chroot /host`) but
 * not its network (NodeOp has no hostNetwork): there, 127.0.0.1 is the pod's own loopback,
 * and a mirror listening on the node's loopback cannot be reached.
 */
import { readlink } from 'node:fs/promises';

/**
 * True or false when /proc tells (PID 1 is the node's init when /proc is the node's, as after
 * `chroot /host`); undefined when it cannot be read.
 */
export async function sharesNodeNetwork(): Promise<boolean | undefined> {
  try {
    const [self, init] = await Promise.all([readlink('/proc/self/ns/net'), readlink('/proc/1/ns/net')]);
    return self === init;
  } catch {
    return undefined;
  }
}

/** "host", "host:port", "[v6]" or "[v6]:port", as hosts.toml names a host. */
export function splitHostPort(hostPort: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  if (v6) return { host: v6[1]!, ...(v6[2] ? { port: Number(v6[2]) } : {}) };
  const v4 = /^([^:]+):(\d+)$/.exec(hostPort);
  if (v4) return { host: v4[1]!, port: Number(v4[2]) };
  return { host: hostPort };
}

/** 127.0.0.0/8, ::1 and localhost: names that mean "this network namespace". */
export function isLoopbackHost(hostPort: string): boolean {
  const { host } = splitHostPort(hostPort);
  const name = host.toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
