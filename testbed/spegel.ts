/**
 * Real Spegel (`spegel registry`, built by setup.sh) beside a test containerd, without
 * Kubernetes: it serves that containerd's content on its registry port and finds peers
 * through libp2p, bootstrapped from a static list or over HTTP.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Containerd } from './containerd.ts';
import { tcpOpen, type TestNode } from './netns.ts';
import { peerBinary, peerVersion } from './peers.ts';
import { must, startDaemon, waitFor, type Daemon } from './proc.ts';

export interface SpegelOptions {
  /** Address of the registry (mirror) port: the node IP and the chart's port, or loopback. */
  host: string;
  registryPort: number;
  routerPort: number;
  metricsPort: number;
  /** Peers' libp2p addresses (/ip4/.../tcp/.../p2p/ID); none: a lone node. */
  bootstrap?: { kind: 'static'; peers: string[] } | { kind: 'http'; addr: string; peer?: string };
}

export interface Spegel extends Daemon {
  version: string;
  /** http://host:port of the registry (mirror) port. */
  url: string;
  metricsUrl: string;
  /** Its Prometheus metrics, as text. */
  metrics(): Promise<string>;
  /** GET requests of the registry API that Spegel answered with 200, and their body bytes (its own metrics). */
  served(): Promise<{ requests: number; bytes: number }>;
}

/** Sum of a Prometheus counter's samples whose labels include all of `labels`. */
export function sumSamples(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l): [string, string] => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

export async function startSpegel(node: TestNode, dir: string, ctd: Containerd, opts: SpegelOptions): Promise<Spegel> {
  const data = path.join(dir, 'spegel');
  mkdirSync(data, { recursive: true });
  const hostPort = (port: number) => (opts.host.includes(':') ? `[${opts.host}]:${port}` : `${opts.host}:${port}`);
  const b = opts.bootstrap ?? { kind: 'static', peers: [] };
  const bootstrap =
    b.kind === 'static'
      ? ['--bootstrap-kind', 'static', ...(b.peers.length > 0 ? ['--static-bootstrap-peers', ...b.peers] : [])]
      : ['--bootstrap-kind', 'http', '--http-bootstrap-addr', b.addr, ...(b.peer ? ['--http-bootstrap-peer', b.peer] : [])];
  const args = [
    'registry',
    '--containerd-sock',
    ctd.socket,
    '--containerd-namespace',
    'k8s.io',
    '--containerd-content-path',
    path.join(ctd.root, 'io.containerd.content.v1.content'),
    '--registry-addr',
    hostPort(opts.registryPort),
    '--router-addr',
    hostPort(opts.routerPort),
    '--metrics-addr',
    hostPort(opts.metricsPort),
    '--data-dir',
    data,
    ...bootstrap,
  ];
  const [cmd, argv] = node.exec(peerBinary('spegel'), args);
  const d = startDaemon(cmd, argv, path.join(dir, 'spegel.log'));
  await waitFor(`spegel on ${hostPort(opts.registryPort)}`, async () => (await tcpOpen(node, opts.host, opts.registryPort)) || d.proc.exitCode !== null, 30_000);
  if (d.proc.exitCode !== null) throw new Error(`spegel exited (${d.proc.exitCode}):\n${d.readLog()}`);
  const metricsUrl = `http://${hostPort(opts.metricsPort)}/metrics`;
  const scrape = async () => {
    const [c, a] = node.exec('curl', ['-sf', metricsUrl]);
    return must(c, a);
  };
  return {
    ...d,
    version: peerVersion('spegel'),
    url: `http://${hostPort(opts.registryPort)}`,
    metricsUrl,
    metrics: scrape,
    served: async () => {
      const text = await scrape();
      const labels = { handler: '/v2/*', method: 'GET', code: '200' };
      return { requests: sumSamples(text, 'http_response_size_bytes_count', labels), bytes: sumSamples(text, 'http_response_size_bytes_sum', labels) };
    },
  };
}
