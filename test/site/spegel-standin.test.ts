/**
 * The site's Spegel stand-in (bench/site/spegel-standin.ts) against the contract in
 * reference/spegel.md §2, with real containerds: node A holds an image pulled the normal
 * way (labelled), one blob of it with its distribution-source label taken off; node B
 * holds nothing and has A as its peer.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContainerd, type Containerd } from '../helpers/containerd.ts';
import { buildImage, pushImage } from '../helpers/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../helpers/loopback-registry.ts';
import { LOCAL, requireRoot } from '../helpers/netns.ts';
import { freePort } from '../helpers/ports.ts';
import { must, run, startDaemon, waitFor, type Daemon } from '../helpers/proc.ts';
import { tempDir } from '../helpers/tmp.ts';

const STANDIN = path.resolve(import.meta.dirname, '../../bench/site/spegel-standin.ts');
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('the Spegel stand-in', () => {
  const dir = tempDir('ks-standin-');
  let registry: LoopbackRegistry;
  const daemons: (Daemon | Containerd)[] = [];
  let a: string;
  let b: string;
  let ns: string;
  let manifest: { digest: string; mediaType?: string; config: { digest: string }; layers: { digest: string; size: number }[] };
  let unlabelled: string;

  async function standin(name: string, ctd: Containerd, peers: string[]): Promise<string> {
    const addr = `127.0.0.1:${await freePort()}`;
    const content = path.join(dir, name, 'containerd/root/io.containerd.content.v1.content');
    const d = startDaemon(process.execPath, [STANDIN, '--listen', addr, '--containerd', ctd.socket, '--content', content, '--peers', peers.join(',')], path.join(dir, `${name}-standin.log`));
    daemons.push(d);
    await waitFor(`stand-in ${name}`, async () => (await fetch(`http://${addr}/livez`).catch(() => undefined))?.status === 200);
    return `http://${addr}`;
  }

  beforeAll(async () => {
    requireRoot('containerd');
    registry = await startLoopbackRegistry(dir, 'reg');
    ns = registry.host;
    const image = `${registry.host}/kairos/standin:v1`;
    await pushImage(undefined, await buildImage(path.join(dir, 'img'), 2, 300_000), image);
    const raw = await must('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${image}`]);
    manifest = { ...(JSON.parse(raw) as typeof manifest), digest: sha256(Buffer.from(raw)) };
    mkdirSync(path.join(dir, 'a'), { recursive: true });
    mkdirSync(path.join(dir, 'b'), { recursive: true });
    const ctdA = await startContainerd(LOCAL, path.join(dir, 'a'), path.join(dir, 'no-hosts'));
    const ctdB = await startContainerd(LOCAL, path.join(dir, 'b'), path.join(dir, 'no-hosts'));
    daemons.push(ctdA, ctdB);
    expect((await ctdA.ctr(['-n', 'k8s.io', 'images', 'pull', '--plain-http', image])).code).toBe(0);
    // Content A holds without a distribution-source label: the image's config with that label
    // taken off. It stays referenced by the manifest, so containerd's garbage collector keeps it
    // (a freshly ingested, unreferenced blob can be collected before the test looks).
    unlabelled = manifest.config.digest;
    const labelsOf = async (digest: string) =>
      (await must('ctr', ['--address', ctdA.socket, '-n', 'k8s.io', 'content', 'ls'])).split('\n').find((l) => l.startsWith(digest))?.split(/\t+/).at(-1)?.split(',') ?? [];
    const sources = (await labelsOf(unlabelled)).filter((l) => l.startsWith('containerd.io/distribution.source.'));
    expect(sources.length, 'the pulled config carries a distribution-source label').toBeGreaterThan(0);
    // An empty value removes a label.
    await must('ctr', ['--address', ctdA.socket, '-n', 'k8s.io', 'content', 'label', unlabelled, ...sources.map((l) => `${l.split('=')[0]}=`)]);
    expect((await labelsOf(unlabelled)).filter((l) => l.startsWith('containerd.io/distribution.source.'))).toEqual([]);
    a = await standin('a', ctdA, []);
    b = await standin('b', ctdB, [a.replace('http://', '')]);
  }, 120_000);

  afterAll(async () => {
    for (const d of daemons.reverse()) await d.stop();
    await registry?.stop();
  });

  const q = `?ns=${encodeURIComponent('')}`;
  const withNs = () => `?ns=${encodeURIComponent(ns)}`;

  it('answers the probes and /v2/; anything else unmatched is a bare 404', async () => {
    for (const p of ['/livez', '/readyz', '/v2/']) expect((await fetch(`${a}${p}`)).status, p).toBe(200);
    const r = await fetch(`${a}/v2/kairos/standin/tags/list${withNs()}`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('');
    expect((await fetch(`${a}/v2/kairos/standin/manifests/v1${withNs()}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('requires the ns parameter', async () => {
    const r = await fetch(`${a}/v2/kairos/standin/manifests/v1${q}`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('');
  });

  it('serves a manifest by tag from its containerd, with Spegel headers', async () => {
    const r = await fetch(`${a}/v2/kairos/standin/manifests/v1${withNs()}`);
    expect(r.status).toBe(200);
    const body = new Uint8Array(await r.arrayBuffer());
    expect(sha256(body)).toBe(manifest.digest);
    expect(r.headers.get('docker-content-digest')).toBe(manifest.digest);
    expect(r.headers.get('content-type')).toBe(manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json');
    expect(r.headers.get('oci-namespace')).toBe(ns);
    expect(Number(r.headers.get('content-length'))).toBe(body.length);
  });

  it('serves a blob range as 206 with Content-Range, and refuses a multi-range', async () => {
    const layer = manifest.layers[0]!;
    const r = await fetch(`${a}/v2/kairos/standin/blobs/${layer.digest}${withNs()}`, { headers: { range: 'bytes=10-19' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 10-19/${layer.size}`);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect((await r.arrayBuffer()).byteLength).toBe(10);
    expect((await fetch(`${a}/v2/kairos/standin/blobs/${layer.digest}${withNs()}`, { headers: { range: 'bytes=0-1,5-6' } })).status).toBe(404);
  });

  it('fetches what it lacks from a peer (one hop, X-Spegel-Mirrored), without OCI-Namespace', async () => {
    const layer = manifest.layers[1]!;
    const r = await fetch(`${b}/v2/kairos/standin/blobs/${layer.digest}${withNs()}`);
    expect(r.status).toBe(200);
    expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(layer.digest);
    expect(r.headers.get('docker-content-digest')).toBe(layer.digest);
    expect(r.headers.get('oci-namespace')).toBeNull();
    const peerLog = (await run('cat', [path.join(dir, 'a-standin.log')])).stdout;
    expect(peerLog).toMatch(new RegExp(`"url":"/v2/kairos/standin/blobs/${layer.digest}[^"]*","mirrored":true`));
  });

  it("answers 404 with Spegel's JSON body when no peer has it", async () => {
    const missing = sha256(Buffer.from('nobody has this'));
    const r = await fetch(`${b}/v2/kairos/standin/blobs/${missing}${withNs()}`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ errors: [{ code: 'BLOB_UNKNOWN', detail: { attempts: 1 }, message: `could not find peer for ${missing}` }] });
  });

  it('does not serve peers content without distribution-source labels (Spegel would not advertise it)', async () => {
    const mirrored = await fetch(`${a}/v2/kairos/standin/blobs/${unlabelled}${withNs()}`, { headers: { 'x-spegel-mirrored': 'true' } });
    expect(mirrored.status).toBe(404);
    // Its own node still gets it: Spegel checks the local store before asking peers.
    const local = await fetch(`${a}/v2/kairos/standin/blobs/${unlabelled}${withNs()}`);
    expect(local.status).toBe(200);
    expect(sha256(new Uint8Array(await local.arrayBuffer()))).toBe(unlabelled);
  });
});
