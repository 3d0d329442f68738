/**
 * `upgrade` end to end through the binary, with a real registry and the stand-in
 * kairos-agent (test/fixtures/kairos-agent-standin, following reference/kairos.md §1):
 * the documented arguments, "up to date" without a call, refusals, offline upgrades from
 * a prepulled image, failure handling, --reboot, and kill -9 during unpack.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, runAgent } from '../helpers/agent.ts';
import { pushImage } from '../helpers/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../helpers/loopback-registry.ts';
import { requireRoot } from '../helpers/netns.ts';
import { rawTar, writeImage, type RawEntry } from '../helpers/oci-layout.ts';
import { tempDir } from '../helpers/tmp.ts';

const STANDIN = path.resolve(import.meta.dirname, '../fixtures/kairos-agent-standin');
const release = (v: string) => `KAIROS_ID="kairos"\nKAIROS_VERSION="${v}"\nKAIROS_SOFTWARE_VERSION_PREFIX="k3s"\nKAIROS_SOFTWARE_VERSION="v1.33.4+k3s1"\n`;

function osTree(version: string | undefined, big = 0): RawEntry[] {
  return [
    { name: 'etc/', type: 'dir' },
    ...(version ? [{ name: 'usr/lib/kairos-release', data: release(version) }] : []),
    ...(version ? [{ name: 'etc/kairos-release', type: 'symlink', linkname: '../usr/lib/kairos-release' }] : []),
    { name: 'etc/hostname', data: 'image-hostname\n' },
    { name: 'usr/', type: 'dir' },
    { name: 'usr/bin/', type: 'dir' },
    { name: 'usr/bin/kairos-agent', data: '#!/bin/sh\n', mode: 0o755 },
    ...(big > 0 ? Array.from({ length: 20 }, (_, i): RawEntry => ({ name: `usr/lib/firmware-${i}.bin`, data: randomBytes(big / 20) })) : []),
  ];
}

describe('upgrade', () => {
  const dir = tempDir('ks-upgrade-');
  let registry: LoopbackRegistry;
  let beds = 0;
  const img = (name: string) => `${registry?.host}/kairos/${name}`;

  async function publish(name: string, version: string | undefined, big = 0) {
    const layout = path.join(dir, `layout-${name.replace(/\W/g, '-')}`);
    writeImage(layout, 'x', [{ tar: rawTar(osTree(version, big)), compression: big ? 'zstd' : 'gzip' }]);
    await pushImage(undefined, `${layout}:x`, img(name));
  }

  /** A node: installed v3.6.0, the stand-in as kairos-agent, the registry in hosts.toml. */
  function node(extra = '') {
    const root = path.join(dir, `node${++beds}`);
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    mkdirSync(path.join(root, 'etc/containerd/certs.d', registry.host), { recursive: true });
    writeFileSync(path.join(root, 'etc/containerd/certs.d', registry.host, 'hosts.toml'), `server = "${registry.url}"\n`);
    writeFileSync(path.join(root, 'etc/kairos-release'), release('v3.6.0'));
    writeFileSync(
      path.join(root, 'oem/90.yaml'),
      `#cloud-config\nkairos-spegel:\n  distro: containerd\n  containerd: {socket: /run/none/containerd.sock}\n  upgrade:\n    kairos_agent: ${STANDIN}\n    reboot_delay: 300ms\n    reboot_command: ${path.join(root, 'reboot')}\n${extra}`,
    );
    writeFileSync(path.join(root, 'reboot'), `#!/bin/sh\necho rebooted > ${path.join(root, 'rebooted')}\n`, { mode: 0o755 });
    const log = path.join(root, 'kairos-agent.args');
    const env = { ...process.env, KAIROS_AGENT_STANDIN_LOG: log };
    const staging = path.join(root, 'usr/local/kairos-spegel/staging');
    return {
      root,
      staging,
      calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
      upgrade: (args: string[], more: NodeJS.ProcessEnv = {}) => runAgent(['--root', root, '--json', 'upgrade', ...args], { env: { ...env, ...more }, timeoutMs: 300_000 }),
    };
  }

  beforeAll(async () => {
    requireRoot('the stand-in kairos-agent, like the real one, requires root');
    registry = await startLoopbackRegistry(dir, 'reg');
    await publish('os:v3.6.1', 'v3.6.1');
    await publish('os:v3.6.0', 'v3.6.0');
    await publish('not-kairos:v1', undefined);
    await publish('big:v3.7.0', 'v3.7.0', 200_000_000);
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('passes exactly the documented arguments and the staged rootfs; records it; removes the staging', async () => {
    const n = node();
    const r = await n.upgrade([img('os:v3.6.1')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { action: string; rootfs: string; version: string; current: string };
    expect(result).toMatchObject({ action: 'applied', version: 'v3.6.1-k3sv1.33.4+k3s1', current: 'v3.6.0-k3sv1.33.4+k3s1' });
    const calls = n.calls();
    expect(calls.slice(0, 7)).toEqual(['upgrade', '--source', `dir:${result.rootfs}`, '--exclude-path', '/etc/hostname', '--exclude-path', '/etc/hosts']);
    expect(calls[7]).toMatch(/^rootfs-ok \d+ entries$/);
    expect(existsSync(result.rootfs)).toBe(false);
    const state = JSON.parse(readFileSync(path.join(n.root, 'usr/local/kairos-spegel/state.json'), 'utf8')) as { applied: { result: string; version: string }[] };
    expect(state.applied).toEqual([expect.objectContaining({ result: 'applied', version: 'v3.6.1-k3sv1.33.4+k3s1', recovery: false })]);
    expect(r.stderr).toMatch(/no containerd to seed/);
  });

  it('--recovery adds --recovery; --reboot reboots after the logged delay', async () => {
    const n = node();
    const r = await n.upgrade([img('os:v3.6.1'), '--recovery', '--reboot']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(n.calls().slice(0, 8)).toEqual(['upgrade', '--source', expect.stringMatching(/^dir:/), '--exclude-path', '/etc/hostname', '--exclude-path', '/etc/hosts', '--recovery']);
    expect(r.stderr).toMatch(/rebooting in 300ms/);
    expect(readFileSync(path.join(n.root, 'rebooted'), 'utf8')).toBe('rebooted\n');
  });

  it('equal versions: no call, exit 0, "up to date"', async () => {
    const n = node();
    const r = await n.upgrade([img('os:v3.6.0')]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'up-to-date', version: 'v3.6.0-k3sv1.33.4+k3s1' });
    expect(n.calls()).toEqual([]);
    const forced = await n.upgrade([img('os:v3.6.0'), '--force']);
    expect(forced.code).toBe(0);
    expect(n.calls()[0]).toBe('upgrade');
  });

  it('refuses an image without kairos-release unless forced', async () => {
    const n = node();
    const r = await n.upgrade([img('not-kairos:v1')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_NO_RELEASE', hint: expect.stringContaining('--force') });
    expect(n.calls()).toEqual([]);
  });

  it('works offline once the image is prepulled and staged', async () => {
    const n = node();
    const pre = await runAgent(['--root', n.root, '--json', 'prepull', '--unpack', img('os:v3.6.1')]);
    expect(pre.code, pre.stderr).toBe(0);
    expect(JSON.parse(pre.stdout).staged).toMatch(/staging\/[0-9a-f]{64}\/rootfs$/);
    // The registry disappears: hosts.toml now names a dead server.
    writeFileSync(path.join(n.root, 'etc/containerd/certs.d', registry.host, 'hosts.toml'), 'server = "http://127.0.0.1:9"\n');
    const r = await n.upgrade([img('os:v3.6.1')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/already in the store: no download/);
    expect(n.calls()[0]).toBe('upgrade');
  });

  it('a failing kairos-agent fails the upgrade, keeps the staging and records the failure', async () => {
    const n = node();
    const r = await n.upgrade([img('os:v3.6.1')], { KAIROS_AGENT_STANDIN_FAIL: '1' });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_KAIROS_AGENT', message: expect.stringMatching(/exit 1.*no space left on device/) });
    expect(readdirSync(n.staging).filter((d) => /^[0-9a-f]{64}$/.test(d))).toHaveLength(1);
    const state = JSON.parse(readFileSync(path.join(n.root, 'usr/local/kairos-spegel/state.json'), 'utf8')) as { applied: { result: string }[] };
    expect(state.applied.at(-1)!.result).toBe('failed');
  });

  it('kill -9 during unpack leaves no marked staging, and the next run completes', async () => {
    const n = node();
    const pre = await runAgent(['--root', n.root, 'prepull', img('big:v3.7.0')], { timeoutMs: 300_000 });
    expect(pre.code, pre.stderr).toBe(0);
    const child = spawn(AGENT, ['--root', n.root, 'upgrade', img('big:v3.7.0')], { stdio: 'ignore', env: { ...process.env, KAIROS_AGENT_STANDIN_LOG: path.join(n.root, 'unused') } });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    // Kill once the unpack has written part of the rootfs.
    for (;;) {
      const stagings = existsSync(n.staging) ? readdirSync(n.staging).filter((d) => /^[0-9a-f]{64}$/.test(d)) : [];
      const fw = stagings.length ? path.join(n.staging, stagings[0]!, 'rootfs/usr/lib') : '';
      if (fw && existsSync(fw) && readdirSync(fw).length >= 3) break;
      if (child.exitCode !== null) throw new Error('the upgrade ended before it could be killed');
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const left = readdirSync(n.staging).filter((d) => /^[0-9a-f]{64}$/.test(d));
    expect(left).toHaveLength(1);
    expect(existsSync(path.join(n.staging, left[0]!, 'staged.json'))).toBe(false);
    const r = await n.upgrade([img('big:v3.7.0')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removing an incomplete staging left by an interrupted unpack/);
    expect(n.calls()[7]).toMatch(/^rootfs-ok/);
    rmSync(n.root, { recursive: true, force: true });
  }, 300_000);
});
