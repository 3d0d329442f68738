/**
 * Upstream authentication against real registries: Basic (htpasswd), and Bearer tokens
 * from a token server, anonymous and with credentials; credentials from the agent's
 * config, k3s' registries.yaml and docker's config.json. Mirrors never see them, and no
 * secret reaches the logs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type Proxy } from '../../testbed/fault-proxy.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { startTokenServer, type TokenServer } from '../../testbed/token-server.ts';
import { PASSWORDS } from '../../testbed/secrets.ts';
import { tempDir } from '../../testbed/tmp.ts';

const PASSWORD = PASSWORDS.registry;
const dir = tempDir('ks-auth-');
let beds = 0;

function bed(registry: LoopbackRegistry, mirrors: string[] = []): PullBed {
  const b = new PullBed(`${dir}/bed${++beds}`);
  b.hosts(registry.host, mirrors, registry.url);
  return b;
}

function withPasswordFile(b: PullBed, registry: LoopbackRegistry): void {
  mkdirSync(path.join(b.root, 'etc/kairos-spegel'), { recursive: true });
  writeFileSync(path.join(b.root, 'etc/kairos-spegel/pw'), `${PASSWORD}\n`);
  b.config(`  credentials:\n    - registry: ${registry.host}\n      username: puller\n      password_file: /etc/kairos-spegel/pw\n`);
}

function expectNoSecret(out: string): void {
  expect(out).not.toContain(PASSWORD);
  expect(out).not.toContain(Buffer.from(`puller:${PASSWORD}`).toString('base64'));
  expect(out).not.toMatch(/Bearer ey/);
}

describe('Basic auth (htpasswd)', () => {
  let registry: LoopbackRegistry;
  let mirror: Proxy;
  let image: string;
  beforeAll(async () => {
    registry = await startLoopbackRegistry(dir, 'basic', { auth: { kind: 'basic', users: { puller: PASSWORD } } });
    image = `${registry.host}/kairos/basic:v1`;
    await pushImage(undefined, await buildImage(`${dir}/basic-img`, 2, 100_000), image, { creds: `puller:${PASSWORD}` });
    mirror = await startProxy(registry.url);
  });
  afterAll(async () => {
    await mirror?.close();
    await registry?.stop();
  });

  it('pulls with the password file from the agent config; the mirror never sees credentials', async () => {
    const b = bed(registry, [mirror.url]);
    withPasswordFile(b, registry);
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    b.verifyBlobs();
    expect(mirror.requests.length).toBeGreaterThan(0);
    for (const q of mirror.requests) expect(q.headers['authorization'], q.url).toBeUndefined();
    // The mirror (forwarding without credentials) was refused; upstream served everything.
    expect(r.json!.bytes.from_peers).toBe(0);
    expectNoSecret(r.stdout + r.stderr);
  });

  it('fails clearly without credentials, naming where to put them', async () => {
    const r = await bed(registry).prepull([image]);
    expect(r.code).toBe(1);
    expect(r.error!.message).toContain(`${registry.host} requires a username and password`);
    expect(r.error!.hint).toMatch(/kairos-spegel\.credentials/);
  });

  it("takes credentials from k3s' registries.yaml", async () => {
    const b = bed(registry);
    mkdirSync(path.join(b.root, 'etc/rancher/k3s'), { recursive: true });
    writeFileSync(path.join(b.root, 'etc/rancher/k3s/registries.yaml'), `configs:\n  "${registry.host}":\n    auth:\n      username: puller\n      password: ${PASSWORD}\n`);
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectNoSecret(r.stdout + r.stderr);
  });

  it('a malformed registries.yaml: a configuration error naming file:line:col, and the password on that line is not echoed', async () => {
    const b = bed(registry);
    mkdirSync(path.join(b.root, 'etc/rancher/k3s'), { recursive: true });
    // A tab where YAML wants spaces, on the line that holds the password.
    writeFileSync(path.join(b.root, 'etc/rancher/k3s/registries.yaml'), `configs:\n  "${registry.host}":\n    auth:\n      username: puller\n\tpassword: ${PASSWORD}\n`);
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.error).toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/^\/etc\/rancher\/k3s\/registries\.yaml:5:\d+: not valid YAML/) });
    expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at /);
    expectNoSecret(r.stdout + r.stderr);
  });

  it("takes credentials from docker's config.json in $DOCKER_CONFIG", async () => {
    const b = bed(registry);
    mkdirSync(path.join(b.root, 'etc/docker-cfg'), { recursive: true });
    writeFileSync(path.join(b.root, 'etc/docker-cfg/config.json'), JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from(`puller:${PASSWORD}`).toString('base64') } } }));
    const r = await b.prepull([image], { DOCKER_CONFIG: '/etc/docker-cfg' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('refuses wrong credentials clearly', async () => {
    const b = bed(registry);
    mkdirSync(path.join(b.root, 'etc/kairos-spegel'), { recursive: true });
    writeFileSync(path.join(b.root, 'etc/kairos-spegel/pw'), 'wrong\n');
    b.config(`  credentials:\n    - registry: ${registry.host}\n      username: puller\n      password_file: /etc/kairos-spegel/pw\n`);
    const r = await b.prepull([image]);
    expect(r.code).toBe(1);
    expect(r.error!.message).toContain(`${registry.host} refused the credentials from kairos-spegel.credentials (/etc/kairos-spegel/pw)`);
  });
});

describe('Bearer tokens', () => {
  const cases = [
    { name: 'anonymous', anonymousPull: true, withCreds: false },
    { name: 'with credentials', anonymousPull: false, withCreds: true },
  ];
  const tokens: TokenServer[] = [];
  const registries: LoopbackRegistry[] = [];
  afterAll(async () => {
    for (const r of registries) await r.stop();
    for (const t of tokens) await t.close();
  });

  it.each(cases)('$name', async ({ anonymousPull, withCreds, name }) => {
    const tdir = `${dir}/token-${name.replace(/\s/g, '-')}`;
    mkdirSync(tdir);
    const ts = await startTokenServer(tdir, { users: { puller: PASSWORD }, anonymousPull });
    tokens.push(ts);
    const registry = await startLoopbackRegistry(tdir, 'reg', { auth: { kind: 'token', realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.certFile } });
    registries.push(registry);
    const image = `${registry.host}/kairos/token:v1`;
    await pushImage(undefined, await buildImage(`${tdir}/img`, 1, 100_000), image, { creds: `puller:${PASSWORD}` });
    ts.requests.length = 0;

    const b = bed(registry);
    if (withCreds) withPasswordFile(b, registry);
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    b.verifyBlobs();
    expect(ts.requests.length).toBeGreaterThan(0);
    for (const q of ts.requests) {
      expect(q.scopes).toEqual(['repository:kairos/token:pull']);
      expect(q.basicUser).toBe(withCreds ? 'puller' : undefined);
    }
    expectNoSecret(r.stdout + r.stderr);
    if (!anonymousPull) {
      const denied = await bed(registry).prepull([image]);
      expect(denied.code).toBe(1);
      expect(denied.error!.message).toMatch(/token server .* for .* \(repository:kairos\/token:pull, anonymously\): HTTP 401/);
    }
  });
});
