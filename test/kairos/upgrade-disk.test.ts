/**
 * A real upgrade by the real kairos-agent of each pinned version, on a disposable disk
 * (testbed/kairos-install.ts): `kairos-spegel upgrade IMAGE` runs on a node root booted
 * from COS_ACTIVE, with the environment a Kairos operator NodeOp pod leaves after `chroot
 * /host` (KUBERNETES_SERVICE_HOST, HOST_DIR=/host). It stages the image from a loopback
 * registry and hands the rootfs to kairos-agent, which writes a new cOS/active.img and keeps
 * the old one as passive.img. Also shown on the real agent: why kairos-spegel passes no
 * --exclude-path, and why it drops the pod's variables.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../testbed/image.ts';
import { ACTIVE_CMDLINE, installKairosNode, type InstalledNode } from '../../testbed/kairos-install.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { kairosAgents } from '../../testbed/peers.ts';
import { run } from '../../testbed/proc.ts';
import { rawTar, writeImage, type RawEntry } from '../../testbed/oci-layout.ts';
import { tempDir } from '../../testbed/tmp.ts';

const release = (v: string) => `KAIROS_ID="kairos"\nKAIROS_NAME="kairos-core-debian-12"\nKAIROS_VERSION="${v}"\nKAIROS_SOFTWARE_VERSION_PREFIX="k3s"\nKAIROS_SOFTWARE_VERSION="v1.33.4+k3s1"\n`;
/** What a NodeOp job pod has in its environment, and keeps through `chroot /host`. */
const NODEOP_ENV = { KUBERNETES_SERVICE_HOST: '10.43.0.1', KUBERNETES_SERVICE_PORT: '443', HOST_DIR: '/host' };

function osTree(version: string): RawEntry[] {
  return [
    { name: 'etc/', type: 'dir' },
    { name: 'etc/kairos-release', data: release(version) },
    { name: 'etc/hostname', data: 'localhost\n' },
    { name: 'usr/', type: 'dir' },
    { name: 'usr/bin/', type: 'dir' },
    { name: 'usr/bin/kairos-agent', data: '#!/bin/sh\n', mode: 0o755 },
    { name: 'usr/lib/', type: 'dir' },
    { name: 'usr/lib/os-payload.txt', data: `the ${version} system\n` },
  ];
}

const dir = tempDir('ks-kdisk-');
let registry: LoopbackRegistry;
const image = () => `${registry.host}/kairos/core:v3.6.1`;

beforeAll(async () => {
  registry = await startLoopbackRegistry(dir, 'os');
  const layout = path.join(dir, 'layout');
  writeImage(layout, 'os', [{ tar: rawTar(osTree('v3.6.1')), compression: 'zstd' }]);
  await pushImage(undefined, `${layout}:os`, image());
}, 120_000);
afterAll(async () => {
  await registry?.stop();
});

describe.each(kairosAgents())('$label: upgrade on a loop disk from a NodeOp-like environment', ({ binary, version }) => {
  let n: InstalledNode;

  beforeAll(async () => {
    n = await installKairosNode(tempDir('ks-kdisk-'), { release: release('v3.6.0'), kairosAgent: binary, kairosSpegel: ['  containerd: {socket: /run/none/containerd.sock}'] });
    n.node.write(`/etc/containerd/certs.d/${registry.host}/hosts.toml`, `server = "${registry.url}"\n`);
  }, 120_000);
  afterAll(async () => {
    await n?.destroy();
  });

  // v2.25.2 added --exclude-path (kairos-agent a1afa1e6); the 2.24 line does not have it.
  const hasExcludePath = version.localeCompare('v2.25.2', 'en', { numeric: true }) >= 0;
  it(`${hasExcludePath ? 'knows' : 'refuses'} --exclude-path, which kairos-spegel therefore does not pass`, async () => {
    const r = await run(binary, ['upgrade', '--exclude-path', '/etc/hosts', '--source', 'dir:/nonexistent']);
    const unknown = /flag provided but not defined: -exclude-path/;
    if (hasExcludePath) expect(r.stdout + r.stderr).not.toMatch(unknown);
    else expect(r.stdout + r.stderr).toMatch(unknown);
  });

  it('under the NodeOp variables, kairos-agent itself looks for the node under /host and refuses', async () => {
    const r = await n.node.run([binary, 'upgrade', '--source', 'dir:/usr'], { cmdline: ACTIVE_CMDLINE, binds: [path.dirname(binary)], env: NODEOP_ENV });
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/No users found/);
    expect(await n.release('passive.img')).toBeUndefined();
  });

  it('kairos-spegel upgrade: the new active.img holds the new version, passive.img the old one', async () => {
    const r = await n.kairosSpegel(['--json', 'upgrade', image()], { env: NODEOP_ENV, timeoutMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'applied', version: 'v3.6.1-k3sv1.33.4+k3s1', current: 'v3.6.0-k3sv1.33.4+k3s1' });
    expect(r.stderr).toMatch(/"unset":\["KUBERNETES_SERVICE_HOST","HOST_DIR"\]/);
    expect(r.stderr, 'kairos-agent found every disk in the udev database').not.toMatch(/"level":"error".*udev/);
    expect(await n.release('active.img')).toBe(release('v3.6.1'));
    expect(await n.disk.readImageFile('active.img', 'usr/lib/os-payload.txt')).toBe('the v3.6.1 system\n');
    expect(await n.release('passive.img')).toBe(release('v3.6.0'));
  }, 300_000);
});
