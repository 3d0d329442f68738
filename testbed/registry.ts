/** A real registry (Debian's docker-registry, distribution 2.8) inside a test node. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestNode } from './netns.ts';
import { tcpOpen } from './netns.ts';
import { startDaemon, waitFor, type Daemon } from './proc.ts';

export interface Registry extends Daemon {
  url: string;
  /** Request lines of the access log: "GET /v2/...?ns=... HTTP/1.1" */
  requests(): string[];
  /** Body bytes the registry has sent so far (from its access log). */
  bytesServed(): number;
}

export interface RegistryTls {
  cert: string;
  key: string;
  /** When set, clients must present a certificate signed by this CA (as k3s' supervisor does). */
  clientCa?: string;
}

export async function startRegistry(node: TestNode, dir: string, opts: { host: string; port: number; proxy?: string; name?: string; tls?: RegistryTls }): Promise<Registry> {
  const name = opts.name ?? `registry-${opts.port}`;
  const data = path.join(dir, `${name}-data`);
  mkdirSync(data, { recursive: true });
  const config = path.join(dir, `${name}.yml`);
  const listen = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: {level: info, formatter: text}',
      `storage: {filesystem: {rootdirectory: ${data}}, delete: {enabled: true}}`,
      opts.tls ? `http: {addr: "${listen}", tls: {certificate: ${opts.tls.cert}, key: ${opts.tls.key}${opts.tls.clientCa ? `, clientcas: [${opts.tls.clientCa}]` : ''}}}` : `http: {addr: "${listen}"}`,
      ...(opts.proxy ? [`proxy: {remoteurl: ${opts.proxy}}`] : []),
      '',
    ].join('\n'),
  );
  const [cmd, args] = node.exec('docker-registry', ['serve', config]);
  const d = startDaemon(cmd, args, path.join(dir, `${name}.log`));
  await waitFor(`${name} on ${listen}`, () => tcpOpen(node, opts.host, opts.port));
  return {
    ...d,
    url: `${opts.tls ? 'https' : 'http'}://${listen}`,
    requests: () => [...d.readLog().matchAll(/"((?:GET|HEAD) \/v2\/[^"]*)"/g)].map((m) => m[1]!),
    bytesServed: () => [...d.readLog().matchAll(/"GET \/v2\/[^"]*" \d{3} (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0),
  };
}
