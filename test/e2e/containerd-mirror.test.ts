/**
 * configure + real containerd (each of the matrix) + real Spegel + a real registry: containerd
 * asks the node's Spegel, at the address configure wrote, for the manifest and every blob,
 * naming the registry with `?ns=` (Spegel counts mirror requests by it); Spegel, with no
 * peer holding the image, answers 404 and containerd takes it from the registry; with
 * Spegel down it goes straight to the registry; and a user's own hosts.toml for the
 * registry is kept and still works, with and without the mirror.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { startContainerd, type Containerd } from '../../testbed/containerd.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { createNode, type TestNode } from '../../testbed/netns.ts';
import { containerdMatrix } from '../../testbed/peers.ts';
import { must } from '../../testbed/proc.ts';
import { startRegistry, type Registry } from '../../testbed/registry.ts';
import { startSpegel, sumSamples, type Spegel } from '../../testbed/spegel.ts';
import { tempDir } from '../../testbed/tmp.ts';

const UPSTREAM = '127.0.0.1:5101';

describe.each(containerdMatrix())('configure with real $label and registries', (build) => {
  const dir = tempDir('ks-e2e-');
  const root = path.join(dir, 'root');
  const hostsDir = path.join(root, 'etc/containerd/certs.d');
  let node: TestNode;
  let upstream: Registry;
  let spegel: Spegel;
  let ctd: Containerd;

  /** The node's Spegel at the chart's hostPort, beside the node's containerd, with no peers. */
  async function startMirror(): Promise<Spegel> {
    return startSpegel(node, dir, ctd, { host: node.ip, registryPort: 30020, routerPort: 5001, metricsPort: 9090 });
  }

  /** Requests Spegel was asked to mirror for the upstream registry (the `ns` containerd sent). */
  async function asked(): Promise<number> {
    return sumSamples(await spegel.metrics(), 'spegel_mirror_requests_total', { registry: UPSTREAM });
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
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    writeFileSync(path.join(root, 'oem/90_custom.yaml'), '#cloud-config\nkairos-spegel:\n  distro: containerd\n');
    const r = await runAgent(['--root', root, 'configure'], { node });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    ctd = await startContainerd(node, dir, hostsDir, { build });
    spegel = await startMirror();
  });

  afterAll(async () => {
    await spegel?.stop();
    await ctd?.stop();
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

  it('containerd asks the mirror for the manifest and every blob, each with ns=, then takes them from the registry', async () => {
    const before = await asked();
    const r = await pull('kairos/test:v1');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The tag and the manifest, then the config and each layer: one ask each at least.
    expect((await asked()) - before).toBeGreaterThanOrEqual((await blobDigests('kairos/test:v1')).length + 1);
    const fetched = upstream.requests().filter((l) => l.startsWith('GET /v2/kairos/test/blobs/sha256:'));
    for (const d of await blobDigests('kairos/test:v1'))
      expect(
        fetched.filter((l) => l.includes(d)),
        d,
      ).toHaveLength(1);
  });

  it('goes straight to the registry when the mirror is down', async () => {
    await spegel.stop();
    const r = await pull('kairos/test:v2');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const list = await ctd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']);
    expect(list.stdout).toContain(`${UPSTREAM}/kairos/test:v2`);
  });

  it("keeps a user's own hosts.toml for the registry, and it still works with and without the mirror", async () => {
    const userDir = path.join(hostsDir, UPSTREAM);
    mkdirSync(userDir, { recursive: true });
    const userFile = ['# my registry, plain http', `server = "http://${UPSTREAM}"`, '', `[host."http://${UPSTREAM}"]`, '  capabilities = ["pull", "resolve"]', '  skip_verify = true', ''].join('\n');
    writeFileSync(path.join(userDir, 'hosts.toml'), userFile);
    spegel = await startMirror();
    const r = await runAgent(['--root', root, 'configure'], { node });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const merged = readFileSync(path.join(userDir, 'hosts.toml'), 'utf8');
    expect(merged.startsWith(`# my registry, plain http\nserver = "http://${UPSTREAM}"\n`)).toBe(true);
    expect(merged).toContain(`[host."http://${UPSTREAM}"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true`);
    expect(merged.indexOf(`http://${node.ip}:30020`)).toBeLessThan(merged.indexOf(`[host."http://${UPSTREAM}"]`));

    const before = await asked();
    const through = await pull('kairos/test:v3');
    expect(through.code, through.stdout + through.stderr).toBe(0);
    expect((await asked()) - before).toBeGreaterThanOrEqual((await blobDigests('kairos/test:v3')).length + 1);
    await spegel.stop();
    const fallback = await pull('kairos/test:v4');
    expect(fallback.code, fallback.stdout + fallback.stderr).toBe(0);
    expect(existsSync(path.join(userDir, 'hosts.toml'))).toBe(true);
  });
});
