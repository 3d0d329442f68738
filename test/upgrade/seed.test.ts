/**
 * Seeding on every containerd of the matrix (Debian's 1.6, 1.7, 2.2, newest 2.x): after
 * `prepull` of a buildx-style index (two platforms, each with an attestation manifest),
 * containerd holds the index, every manifest and config, and the chosen platform's
 * layers, all labelled with their distribution source (what Spegel advertises by); and
 * a second containerd whose only way to the image is real Spegel serving the first one's
 * content pulls it (containerd 2 asks for every platform's manifest and config).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { startContainerd, type Containerd } from '../../testbed/containerd.ts';
import { startProxy } from '../../testbed/fault-proxy.ts';
import { buildBuildxIndex, pushImage } from '../../testbed/image.ts';
import { writeKairosImage } from '../../testbed/kairos-image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { LOCAL, requireRoot } from '../../testbed/netns.ts';
import { containerdMatrix } from '../../testbed/peers.ts';
import { freePort } from '../../testbed/ports.ts';
import { must, waitFor } from '../../testbed/proc.ts';
import { startSpegel } from '../../testbed/spegel.ts';
import { tempDir } from '../../testbed/tmp.ts';

interface ContentRow {
  digest: string;
  labels: string[];
}

async function images(ctd: Containerd, ns: string): Promise<Record<string, string>> {
  const r = await ctd.ctr(['-n', ns, 'images', 'ls']);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n').slice(1)) {
    const [name, , digest] = line.trim().split(/\s+/);
    if (name && digest) out[name] = digest;
  }
  return out;
}

/** `ctr content ls`: digest, then the distribution-source labels. */
async function content(ctd: Containerd, ns: string): Promise<ContentRow[]> {
  const r = await ctd.ctr(['-n', ns, 'content', 'ls']);
  return r.stdout
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => {
      const [digest, , , labels] = l.trim().split(/\t+|\s{2,}/);
      return {
        digest: digest!,
        labels: (labels ?? '')
          .split(',')
          .filter((x) => x.startsWith('containerd.io/distribution.source'))
          .sort(),
      };
    })
    .sort((a, b) => a.digest.localeCompare(b.digest));
}

interface Blob {
  digest: string;
  size: number;
}

/** The digests a metadata-complete fetch of the amd64 image takes, and those it must not. */
function expectedContent(layout: string, index: string): { held: string[]; notHeld: string[]; amd64Bytes: number } {
  const read = <T>(d: string) => JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)), 'utf8')) as T;
  const held = [index];
  const notHeld: string[] = [];
  let amd64Bytes = 0;
  for (const m of read<{ manifests: (Blob & { platform: { architecture: string } })[] }>(index).manifests) {
    const manifest = read<{ config: Blob; layers: Blob[] }>(m.digest);
    held.push(m.digest, manifest.config.digest);
    (m.platform.architecture === 'amd64' ? held : notHeld).push(...manifest.layers.map((l) => l.digest));
    if (m.platform.architecture === 'amd64') amd64Bytes += manifest.layers.reduce((s, l) => s + l.size, 0);
  }
  return { held: held.sort(), notHeld, amd64Bytes };
}

describe.each(containerdMatrix())('seeding into $label', (build) => {
  const dir = tempDir('ks-seed-');
  const root = path.join(dir, 'root');
  let registry: LoopbackRegistry;
  let ctd: Containerd;
  let image: string;
  let expected: ReturnType<typeof expectedContent>;

  beforeAll(async () => {
    requireRoot('containerd');
    registry = await startLoopbackRegistry(dir, 'reg');
    image = `${registry.host}/kairos/buildx:v1`;
    const buildx = await buildBuildxIndex(path.join(dir, 'img'));
    await pushImage(undefined, buildx.ref, image, { all: true });
    expected = expectedContent(path.join(dir, 'img/layout'), buildx.index);
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    mkdirSync(path.join(root, 'etc/containerd/certs.d', registry.host), { recursive: true });
    writeFileSync(path.join(root, 'etc/containerd/certs.d', registry.host, 'hosts.toml'), `server = "${registry.url}"\n`);
    writeFileSync(path.join(root, 'oem/90.yaml'), `#cloud-config\nkairos-spegel:\n  distro: containerd\n  pull:\n    platform: linux/amd64\n  containerd:\n    ctr: ${build.ctr}\n`);
    // containerd's socket where the containerd distribution has it, under the node root.
    ctd = await startContainerd(LOCAL, path.join(root, 'run'), path.join(dir, 'unused-hosts'), { build });
  }, 120_000);
  afterAll(async () => {
    await ctd?.stop();
    await registry?.stop();
  });

  it("prepull seeds the index, every manifest and config, and the chosen platform's layers, each labelled with its source", async () => {
    const r = await runAgent(['--root', root, '--json', 'prepull', image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { digest: string; seeded: string };
    expect(result.seeded).toBe(result.digest); // the index, as containerd records a multi-arch pull
    expect((await images(ctd, 'k8s.io'))[image]).toBe(result.digest);

    const held = await content(ctd, 'k8s.io');
    expect(held.map((c) => c.digest)).toEqual(expected.held);
    for (const d of expected.notHeld) expect(held.map((c) => c.digest)).not.toContain(d);
    // containerd keys the label by the registry's host name: containerd.io/distribution.source.<host>=<repository>.
    for (const c of held) expect(c.labels, c.digest).toEqual([`containerd.io/distribution.source.${registry.host.split(':')[0]}=kairos/buildx`]);
    // Content and image record only: nothing unpacked into snapshots (CRI unpacks on demand when a pod runs it).
    const snaps = await ctd.ctr(['-n', 'k8s.io', 'snapshots', 'ls']);
    expect(snaps.stdout.trim().split('\n')).toHaveLength(1); // the header alone
  });

  it("a peer's containerd 2.2 pulls the image from this node's content through real Spegel, and from nowhere else", async () => {
    const [registryPort, routerPort, metricsPort, closed] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const spegel = await startSpegel(LOCAL, dir, ctd, { host: '127.0.0.1', registryPort, routerPort, metricsPort });
    const peerDir = path.join(dir, 'peer');
    const peerHosts = path.join(peerDir, 'certs.d');
    mkdirSync(path.join(peerHosts, registry.host), { recursive: true });
    // Spegel is the only host; the registry's own address is a closed port.
    writeFileSync(path.join(peerHosts, registry.host, 'hosts.toml'), `server = "http://127.0.0.1:${closed}"\n\n[host."${spegel.url}"]\n  capabilities = ["pull", "resolve"]\n`);
    const peer = await startContainerd(LOCAL, peerDir, peerHosts);
    try {
      const pull = await peer.ctr(['-n', 'k8s.io', 'images', 'pull', '--platform', 'linux/amd64', '--hosts-dir', peerHosts, image]);
      expect(pull.code, `${spegel.version} on ${build.label}, peer ${peer.build.label}:\n${pull.stdout}${pull.stderr}`).toBe(0);
      expect((await images(peer, 'k8s.io'))[image]).toBe((await images(ctd, 'k8s.io'))[image]);
      // Every manifest (index, 2 images, 2 attestations), the 4 configs and the amd64 layer came from Spegel.
      const served = await spegel.served();
      expect(served.requests).toBeGreaterThanOrEqual(10);
      expect(served.bytes).toBeGreaterThanOrEqual(expected.amd64Bytes);
    } finally {
      await peer.stop();
      await spegel.stop();
    }
  });

  it('a second prepull does not seed again, and --no-seed skips it', async () => {
    const again = await runAgent(['--root', root, '--json', 'prepull', '--no-seed', image]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).seeded).toBeNull();
  });

  it('hands each blob to containerd as it lands, while the rest still downloads', async () => {
    await pushImage(undefined, writeKairosImage(path.join(dir, 'slow-img'), 'v1', [3_000_000, 1_000_000]), `${registry.host}/kairos/slow:v1`);
    const layers = (JSON.parse(await must('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/kairos/slow:v1`])) as { layers: { digest: string }[] }).layers.map(
      (l) => l.digest,
    );
    // The first layer the agent asks for goes through; the other is held until the test has seen the first in containerd.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let first: string | undefined;
    const proxy = await startProxy(registry.url, (r) => {
      const digest = layers.find((d) => r.method === 'GET' && r.url.includes(`/blobs/${d}`));
      if (digest === undefined) return undefined;
      first ??= digest;
      return digest === first ? undefined : { kind: 'hold', until: held };
    });
    const slow = `${proxy.host}/kairos/slow:v1`;
    mkdirSync(path.join(root, 'etc/containerd/certs.d', proxy.host), { recursive: true });
    writeFileSync(path.join(root, 'etc/containerd/certs.d', proxy.host, 'hosts.toml'), `server = "${proxy.url}"\n`);
    let exited = false;
    const pull = runAgent(['--root', root, '--json', 'prepull', slow]).finally(() => (exited = true));
    try {
      const seen = await waitFor('the first layer in containerd', async () => (await content(ctd, 'k8s.io')).find((c) => c.digest === first && c.labels.length > 0), 30_000);
      expect(seen.labels).toEqual([`containerd.io/distribution.source.${registry.host.split(':')[0]}=kairos/slow`]);
      expect(exited).toBe(false);
      const other = layers.find((d) => d !== first)!;
      expect((await content(ctd, 'k8s.io')).map((c) => c.digest)).not.toContain(other);
    } finally {
      release();
    }
    const r = await pull;
    await proxy.close();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await images(ctd, 'k8s.io'))[slow]).toBe(JSON.parse(r.stdout).seeded);
  });
});
