/**
 * Test "nodes": a network namespace with a veth link to a gateway namespace, the
 * node address on eth0 and a default route, so node-IP detection, registries and
 * containerd run as on a real node, isolated from this machine and from each other.
 * Needs root; a test that needs it fails loudly without it instead of skipping.
 */
import { must, run } from './proc.ts';

export function requireRoot(why: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`this test needs root (${why}); run the suite as root, as .ci/run does`);
  }
}

let counter = 0;

export interface TestNode {
  ns: string;
  ip: string;
  /** argv prefix that runs a command inside the node's namespace */
  exec(cmd: string, args: string[]): [string, string[]];
  destroy(): Promise<void>;
}

export async function createNode(opts: { ip?: string; gateway?: string; prefix?: number; ipv6?: boolean } = {}): Promise<TestNode> {
  requireRoot('network namespaces');
  const id = `ks${process.pid}n${++counter}`;
  const ns = id;
  const gw = `${id}g`;
  const ip = opts.ip ?? (opts.ipv6 ? 'fd00:77::2' : '10.77.0.2');
  // The gateway is the .1 (or ::1) of the node's subnet.
  const gateway = opts.gateway ?? (opts.ipv6 ? ip.replace(/:[^:]*$/, ':1') : ip.replace(/\.\d+$/, '.1'));
  const prefix = opts.prefix ?? (opts.ipv6 ? 64 : 24);
  const destroy = async () => {
    await run('ip', ['netns', 'del', ns]);
    await run('ip', ['netns', 'del', gw]);
  };
  try {
    await must('ip', ['netns', 'add', ns]);
    await must('ip', ['netns', 'add', gw]);
    await must('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'gw0', 'netns', gw]);
    const nodad = opts.ipv6 ? ['nodad'] : [];
    await must('ip', ['-n', ns, 'addr', 'add', `${ip}/${prefix}`, 'dev', 'eth0', ...nodad]);
    await must('ip', ['-n', gw, 'addr', 'add', `${gateway}/${prefix}`, 'dev', 'gw0', ...nodad]);
    for (const [n, dev] of [
      [ns, 'eth0'],
      [ns, 'lo'],
      [gw, 'gw0'],
      [gw, 'lo'],
    ] as const)
      await must('ip', ['-n', n, 'link', 'set', dev, 'up']);
    await must('ip', ['-n', ns, ...(opts.ipv6 ? ['-6'] : []), 'route', 'add', 'default', 'via', gateway]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { ns, ip, exec: (cmd, args) => ['ip', ['netns', 'exec', ns, cmd, ...args]], destroy };
}

/** Resolves when something accepts TCP connections at host:port inside the node. */
export async function tcpOpen(node: TestNode, host: string, port: number): Promise<boolean> {
  const [cmd, args] = node.exec('bash', ['-c', `exec 3<>/dev/tcp/${host}/${port}`]);
  return (await run(cmd, args, { timeoutMs: 2000 })).code === 0;
}

/** This machine's own network namespace, as a TestNode (for tests on loopback only). */
export const LOCAL: TestNode = {
  ns: '',
  ip: '127.0.0.1',
  exec: (cmd, args) => [cmd, args],
  destroy: async () => undefined,
};
