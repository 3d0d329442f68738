/**
 * configure + real containerd (each of the matrix) + real registries: containerd pulls through the
 * mirror that configure wrote (the mirror is a second docker-registry in proxy
 * mode, standing in for the node's Spegel), falls back to the registry when the
 * mirror is down, and a user's own hosts.toml for the registry is kept and works.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../helpers/agent.ts';
import { startContainerd, type Containerd } from '../helpers/containerd.ts';
import { buildImage, pushImage } from '../helpers/image.ts';
import { createNode, type TestNode } from '../helpers/netns.ts';
import { containerdMatrix } from '../helpers/peers.ts';
import { must } from '../helpers/proc.ts';
import { startRegistry, type Registry } from '../helpers/registry.ts';
import { tempDir } from '../helpers/tmp.ts';

const UPSTREAM = '127.0.0.1:5101';
const NS_PARAM = `ns=${encodeURIComponent(UPSTREAM)}`;

describe.each(containerdMatrix())('configure with real $label and registries', (build) => {
  const dir = tempDir('ks-e2e-');
  const root = path.join(dir, 'root');
  const hostsDir = path.join(root, 'etc/containerd/certs.d');
  let node: TestNode;
  let upstream: Registry;
  let mirror: Registry;
  let ctd: Containerd;

  async function startMirror(): Promise<Registry> {
    return startRegistry(node, dir, { host: node.ip, port: 30020, proxy: `http://${UPSTREAM}`, name: 'mirror' });
  }

  /** Digests of the manifest's config and layers, as the registry serves them. */
  async function blobDigests(repoTag: string): Promise<string[]> {
    const [cmd, args] = node.exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${UPSTREAM}/${repoTag}`]);
    const manifest = JSON.parse(await must(cmd, args)) as { config: { digest: string }; layers: { digest: string }[] };
    return [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  }

  async function pull(ref: string) {
    return ctd.ctr(['-n', 'k8s.io', 'images', 'pull', '--plain-http', '--hosts-dir', hostsDir, `${UPSTREAM}/${ref}`]);
  }

  beforeAll(async () => {
    node = await createNode();
    upstream = await startRegistry(node, dir, { host: '127.0.0.1', port: 5101, name: 'upstream' });
    for (const tag of ['v1', 'v2', 'v3', 'v4']) {
      const imgDir = path.join(dir, `img-${tag}`);
      mkdirSync(imgDir);
      await pushImage(node, await buildImage(imgDir, 2, 100_000), `${UPSTREAM}/kairos/test:${tag}`);
    }
    mirror = await startMirror();
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    writeFileSync(path.join(root, 'oem/90_custom.yaml'), '#cloud-config\nkairos-spegel:\n  distro: containerd\n');
    const r = await runAgent(['--root', root, 'configure'], { node });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    ctd = await startContainerd(node, dir, hostsDir, { build });
  });

  afterAll(async () => {
    await ctd?.stop();
    await mirror?.stop();
    await upstream?.stop();
    await node?.destroy();
  });

  it('writes hosts.toml naming the node IP, never loopback', () => {
    const text = readFileSync(path.join(hostsDir, '_default/hosts.toml'), 'utf8');
    expect(text).toContain(`[host.'http://${node.ip}:30020']`);
    expect(text).toContain("capabilities = ['pull', 'resolve']");
    expect(text).toContain("dial_timeout = '200ms'");
    expect(text).not.toMatch(/127\.0\.0\.1|localhost/);
  });

  it('containerd pulls the manifest and every blob through the mirror, each with ns=', async () => {
    const r = await pull('kairos/test:v1');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const seen = mirror.requests();
    expect(seen.some((l) => l.includes('/v2/kairos/test/manifests/') && l.includes(NS_PARAM))).toBe(true);
    for (const digest of await blobDigests('kairos/test:v1')) {
      expect(seen.filter((l) => l.includes(`/blobs/${digest}`) && l.includes(NS_PARAM)), digest).not.toHaveLength(0);
    }
    for (const l of seen.filter((x) => x.includes('/kairos/test/'))) expect(l).toContain(NS_PARAM);
  });

  it('falls back to the registry when the mirror is down', async () => {
    await mirror.stop();
    const before = mirror.requests().length;
    const r = await pull('kairos/test:v2');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(mirror.requests().length).toBe(before);
    const list = await ctd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']);
    expect(list.stdout).toContain(`${UPSTREAM}/kairos/test:v2`);
  });

  it("keeps a user's own hosts.toml for the registry, and it still works with and without the mirror", async () => {
    const userDir = path.join(hostsDir, UPSTREAM);
    mkdirSync(userDir, { recursive: true });
    const userFile = [
      '# my registry, plain http',
      `server = "http://${UPSTREAM}"`,
      '',
      `[host."http://${UPSTREAM}"]`,
      '  capabilities = ["pull", "resolve"]',
      '  skip_verify = true',
      '',
    ].join('\n');
    writeFileSync(path.join(userDir, 'hosts.toml'), userFile);
    mirror = await startMirror();
    const r = await runAgent(['--root', root, 'configure'], { node });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const merged = readFileSync(path.join(userDir, 'hosts.toml'), 'utf8');
    expect(merged.startsWith(`# my registry, plain http\nserver = "http://${UPSTREAM}"\n`)).toBe(true);
    expect(merged).toContain(`[host."http://${UPSTREAM}"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true`);
    expect(merged.indexOf(`http://${node.ip}:30020`)).toBeLessThan(merged.indexOf(`[host."http://${UPSTREAM}"]`));

    const through = await pull('kairos/test:v3');
    expect(through.code, through.stdout + through.stderr).toBe(0);
    for (const digest of await blobDigests('kairos/test:v3')) {
      expect(mirror.requests().some((l) => l.includes(`/blobs/${digest}`) && l.includes(NS_PARAM)), digest).toBe(true);
    }
    await mirror.stop();
    const fallback = await pull('kairos/test:v4');
    expect(fallback.code, fallback.stdout + fallback.stderr).toBe(0);
    expect(existsSync(path.join(userDir, 'hosts.toml'))).toBe(true);
  });
});
