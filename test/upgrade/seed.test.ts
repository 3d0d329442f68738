/**
 * Seeding with a real containerd: after `prepull`, `ctr -n k8s.io images ls` shows the
 * image at the same digest as a plain `ctr images pull` of it from the registry, and every
 * blob carries the same distribution-source label such a pull leaves (what Spegel needs
 * to advertise it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../helpers/agent.ts';
import { startContainerd, type Containerd } from '../helpers/containerd.ts';
import { buildMultiArchImage, pushImage } from '../helpers/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../helpers/loopback-registry.ts';
import { LOCAL, requireRoot } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeKairosImage } from '../helpers/kairos-image.ts';
import { must, waitFor } from '../helpers/proc.ts';

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

async function content(ctd: Containerd, ns: string): Promise<ContentRow[]> {
  const r = await ctd.ctr(['-n', ns, 'content', 'ls']);
  return r.stdout
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => {
      const [digest, , , labels] = l.trim().split(/\t+|\s{2,}/);
      return { digest: digest!, labels: (labels ?? '').split(',').filter((x) => x.startsWith('containerd.io/distribution.source')).sort() };
    })
    .sort((a, b) => a.digest.localeCompare(b.digest));
}

describe('seeding into containerd', () => {
  const dir = tempDir('ks-seed-');
  const root = path.join(dir, 'root');
  let registry: LoopbackRegistry;
  let ctd: Containerd;
  let image: string;

  beforeAll(async () => {
    requireRoot('containerd');
    registry = await startLoopbackRegistry(dir, 'reg');
    image = `${registry.host}/kairos/multi:v1`;
    await pushImage(undefined, (await buildMultiArchImage(path.join(dir, 'img'))).ref, image, { all: true });
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    mkdirSync(path.join(root, 'etc/containerd/certs.d', registry.host), { recursive: true });
    writeFileSync(path.join(root, 'etc/containerd/certs.d', registry.host, 'hosts.toml'), `server = "${registry.url}"\n`);
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel:\n  distro: containerd\n');
    // containerd's socket where the containerd distribution has it, under the node root.
    ctd = await startContainerd(LOCAL, path.join(root, 'run'), path.join(dir, 'unused-hosts'));
  }, 120_000);
  afterAll(async () => {
    await ctd?.stop();
    await registry?.stop();
  });

  it('prepull seeds the image as a plain pull would have it', async () => {
    const r = await runAgent(['--root', root, '--json', 'prepull', image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { digest: string; seeded: string };
    expect(result.seeded).toBe(result.digest); // the index, as containerd records a multi-arch pull

    const plain = await ctd.ctr(['-n', 'plain', 'images', 'pull', '--plain-http', image]);
    expect(plain.code, plain.stderr).toBe(0);
    const seeded = await images(ctd, 'k8s.io');
    expect(seeded[image]).toBe(result.digest);
    expect(seeded[image]).toBe((await images(ctd, 'plain'))[image]);

    const ours = await content(ctd, 'k8s.io');
    const theirs = await content(ctd, 'plain');
    expect(ours).toEqual(theirs);
    expect(ours.length).toBeGreaterThanOrEqual(4); // index, manifest, config, layer
    // containerd keys the label by the registry's host name: containerd.io/distribution.source.<host>=<repository>.
    for (const c of ours) expect(c.labels, c.digest).toEqual([`containerd.io/distribution.source.${registry.host.split(':')[0]}=kairos/multi`]);
    // Content and image record only: nothing unpacked into snapshots (CRI unpacks on demand when a pod runs it).
    const snaps = await ctd.ctr(['-n', 'k8s.io', 'snapshots', 'ls']);
    expect(snaps.stdout.trim().split('\n')).toHaveLength(1); // the header alone
  });

  it('a second prepull does not seed again, and --no-seed skips it', async () => {
    const again = await runAgent(['--root', root, '--json', 'prepull', '--no-seed', image]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).seeded).toBeUndefined();
  });

  it('hands each blob to containerd as it lands, largest first, while the rest still downloads', async () => {
    const slow = `${registry.host}/kairos/slow:v1`;
    await pushImage(undefined, writeKairosImage(path.join(dir, 'slow-img'), 'v1', [3_000_000, 1_000_000]), slow);
    const layers = (JSON.parse(await must('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${slow}`])) as { layers: { digest: string; size: number }[] }).layers;
    const [big, small] = [...layers].sort((a, b) => b.size - a.size) as [(typeof layers)[number], (typeof layers)[number]];
    writeFileSync(path.join(root, 'oem/91-slow.yaml'), '#cloud-config\nkairos-spegel:\n  pull:\n    upstream_rate_limit: 1MB/s\n');
    let exited = false;
    const pull = runAgent(['--root', root, '--json', 'prepull', slow]).finally(() => (exited = true));
    const seen = await waitFor('the largest layer in containerd', async () => (await content(ctd, 'k8s.io')).find((c) => c.digest === big.digest && c.labels.length > 0), 30_000);
    const smallThen = (await content(ctd, 'k8s.io')).some((c) => c.digest === small.digest);
    const stillPulling = !exited;
    const r = await pull;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(seen.labels).toEqual([`containerd.io/distribution.source.${registry.host.split(':')[0]}=kairos/slow`]);
    expect(stillPulling).toBe(true);
    expect(smallThen).toBe(false);
    expect((await images(ctd, 'k8s.io'))[slow]).toBe(JSON.parse(r.stdout).seeded);
  });
});

