/**
 * A real registry (docker-registry) on 127.0.0.1 in this machine's own network namespace,
 * for tests that need no node IP (prepull reads hosts.toml; it does not configure it).
 * Optional Basic auth (htpasswd, bcrypt) or token auth.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { must, startDaemon, waitFor, type Daemon } from './proc.ts';
import { freePort } from './ports.ts';
import { createConnection } from 'node:net';

export interface LoopbackRegistry extends Daemon {
  host: string; // 127.0.0.1:port
  url: string;
}

export type RegistryAuth = { kind: 'basic'; users: Record<string, string> } | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string };

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startLoopbackRegistry(dir: string, name: string, opts: { auth?: RegistryAuth; proxy?: string } = {}): Promise<LoopbackRegistry> {
  const port = await freePort();
  const data = path.join(dir, `${name}-data`);
  mkdirSync(data, { recursive: true });
  let auth = '';
  if (opts.auth?.kind === 'basic') {
    const file = path.join(dir, `${name}.htpasswd`);
    const lines: string[] = [];
    for (const [u, p] of Object.entries(opts.auth.users)) lines.push((await must('htpasswd', ['-Bbn', u, p])).trim());
    writeFileSync(file, `${lines.join('\n')}\n`);
    auth = `auth: {htpasswd: {realm: test-realm, path: ${file}}}`;
  } else if (opts.auth?.kind === 'token') {
    const a = opts.auth;
    auth = `auth: {token: {realm: "${a.realm}", service: ${a.service}, issuer: ${a.issuer}, rootcertbundle: ${a.rootCertBundle}}}`;
  }
  const config = path.join(dir, `${name}.yml`);
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: {level: info, formatter: text}',
      `storage: {filesystem: {rootdirectory: ${data}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}"}`,
      auth,
      ...(opts.proxy ? [`proxy: {remoteurl: ${opts.proxy}}`] : []),
      '',
    ].join('\n'),
  );
  const d = startDaemon('docker-registry', ['serve', config], path.join(dir, `${name}.log`));
  await waitFor(`${name} on 127.0.0.1:${port}`, () => tcpOpen(port));
  return { ...d, host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` };
}
