/**
 * What a peer can find after `prepull` seeds an image into a node's containerd, with real
 * Spegel on both: node A (the containerd under test, with its Spegel) seeds the image; node
 * B's Spegel, whose own containerd is empty, is asked for it as a peer's containerd would
 * ask it. Spegel advertises content that arrives after it started only from containerd's
 * events: containerd 2.1 and later emit one per blob, so B finds every layer on A; from 1.7
 * Spegel sees the image (its tag) but not its blobs, until it restarts and advertises what
 * the store holds. The two nodes share a LAN (the site's topology): Spegel reaches a peer at
 * the peer's IP on its own registry port, so every Spegel listens on the same port.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { startContainerd, type Containerd } from '../../testbed/containerd.ts';
import { pushImage } from '../../testbed/image.ts';
import { writeKairosImage } from '../../testbed/kairos-image.ts';
import { containerdMatrix, defaultContainerd, peerVersion, type ContainerdBuild } from '../../testbed/peers.ts';
import { must, run, waitFor } from '../../testbed/proc.ts';
import { startRegistry, type Registry } from '../../testbed/registry.ts';
import { startSpegel, type Spegel } from '../../testbed/spegel.ts';
import { tempDir } from '../../testbed/tmp.ts';
import { createSiteNetwork, UPSTREAM_IP, type SiteHost, type SiteNetwork } from '../../testbed/site/topology.ts';

const UPSTREAM = `${UPSTREAM_IP}:5000`;
const IMAGE = `${UPSTREAM}/kairos/advertise:v1`;

const builds = containerdMatrix().filter((b) => (b.version.major === 1 && b.version.minor === 7) || b.label === defaultContainerd().label);

describe.each(builds)(`Spegel ${peerVersion('spegel')} on $label: what a peer finds after seeding`, (build: ContainerdBuild) => {
  const dir = tempDir('ks-adv-');
  const root = path.join(dir, 'a/root');
  let net: SiteNetwork;
  let a: SiteHost;
  let b: SiteHost;
  let upstream: Registry;
  let ctdA: Containerd;
  let ctdB: Containerd;
  let spegelA: Spegel;
  let spegelB: Spegel;
  let layers: string[];

  const spegelOn = (host: SiteHost, ctd: Containerd, peer: SiteHost) =>
    startSpegel(host, path.join(dir, host.label), ctd, {
      host: host.ip,
      registryPort: 30020,
      routerPort: 5001,
      metricsPort: 9090,
      bootstrap: { kind: 'http', addr: `${host.ip}:5002`, peer: `http://${peer.ip}:5002` },
    });

  /** Status of a GET through B's Spegel, as a peer's containerd sends it. */
  async function viaB(what: string, method = 'GET'): Promise<number> {
    const [c, args] = b.exec('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      ...(method === 'HEAD' ? ['--head'] : []),
      `${spegelB.url}/v2/kairos/advertise/${what}?ns=${encodeURIComponent(UPSTREAM)}`,
    ]);
    return Number((await run(c, args, { timeoutMs: 10_000 })).stdout);
  }

  beforeAll(async () => {
    net = await createSiteNetwork(`ksa${process.pid}${build.version.major}${build.version.minor}-`, 2, { lanRate: '1gbit', wanRate: '1gbit', wanDelayMs: 0 });
    [a, b] = net.nodes as [SiteHost, SiteHost];
    upstream = await startRegistry(net.upstream, dir, { host: UPSTREAM_IP, port: 5000, name: 'upstream' });
    await pushImage(net.upstream, writeKairosImage(path.join(dir, 'img'), 'v1', [300_000, 200_000]), IMAGE);
    const [c, args] = net.upstream.exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${IMAGE}`]);
    layers = (JSON.parse(await must(c, args)) as { layers: { digest: string }[] }).layers.map((l) => l.digest);

    ctdA = await startContainerd(a, path.join(root, 'run'), undefined, { build });
    ctdB = await startContainerd(b, path.join(dir, 'b'), undefined);
    spegelA = await spegelOn(a, ctdA, b);
    spegelB = await spegelOn(b, ctdB, a);
    const [rc, ra] = b.exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${spegelB.url}/readyz`]);
    await waitFor('the two Spegels to be peers', async () => ((await run(rc, ra)).stdout === '200' ? true : undefined), 60_000);

    mkdirSync(path.join(root, 'oem'), { recursive: true });
    mkdirSync(path.join(root, 'etc/containerd/certs.d', UPSTREAM), { recursive: true });
    writeFileSync(path.join(root, 'etc/containerd/certs.d', UPSTREAM, 'hosts.toml'), `server = "http://${UPSTREAM}"\n`);
    writeFileSync(path.join(root, 'oem/90.yaml'), `#cloud-config\nkairos-spegel:\n  distro: containerd\n  containerd:\n    ctr: ${build.ctr}\n`);
    const r = await runAgent(['--root', root, '--json', 'prepull', IMAGE], { node: a });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    for (const d of [spegelB, spegelA, ctdB, ctdA, upstream]) await d?.stop();
    await net?.destroy();
  });

  it('the peer finds the image by its tag on the seeding node', async () => {
    await waitFor('the tag through the peer', async () => ((await viaB('manifests/v1', 'HEAD')) === 200 ? true : undefined), 60_000);
  });

  it(build.version.major >= 2 ? 'and every layer: containerd announced each blob as it arrived' : 'but no layer: containerd 1.7 announces no blob, so Spegel never advertised them', async () => {
    // The tag was advertised from the image event, which comes after the blobs': what was announced has been seen.
    for (const d of layers) {
      if (build.version.major >= 2) await waitFor(`layer ${d} through the peer`, async () => ((await viaB(`blobs/${d}`)) === 200 ? true : undefined), 60_000);
      else expect(await viaB(`blobs/${d}`), d).toBe(404);
    }
  });

  it('after a restart, Spegel advertises every blob the store holds', async () => {
    await spegelA.stop();
    spegelA = await spegelOn(a, ctdA, b);
    for (const d of layers) await waitFor(`layer ${d} through the peer after the restart`, async () => ((await viaB(`blobs/${d}`)) === 200 ? true : undefined), 60_000);
  });
});
