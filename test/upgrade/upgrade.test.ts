/**
 * `upgrade` end to end through the binary, with a real registry and the real kairos-agent
 * (the newest pinned) on an installed node with a disposable disk
 * (testbed/kairos-install.ts): what it records, "up to date" without touching the disk,
 * refusals, --recovery and --reboot, offline upgrades from a prepulled image, and kill -9
 * during unpack. Where kairos-agent must fail, testbed/fixtures/kairos-agent-fault takes its place.
 */
import { EXIT_LOCKED } from '../../src/errors.ts';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../testbed/image.ts';
import { installKairosNode, type InstalledNode } from '../../testbed/kairos-install.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { requireRoot } from '../../testbed/netns.ts';
import { defaultKairosAgent } from '../../testbed/peers.ts';
import { rawTar, writeImage, type RawEntry } from '../../testbed/oci-layout.ts';
import { must, run, waitFor } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const FAULT = path.resolve(import.meta.dirname, '../../testbed/fixtures/kairos-agent-fault');
const release = (v: string) => `KAIROS_ID="kairos"\nKAIROS_VERSION="${v}"\nKAIROS_SOFTWARE_VERSION_PREFIX="k3s"\nKAIROS_SOFTWARE_VERSION="v1.33.4+k3s1"\n`;
const STATE = '/usr/local/kairos-spegel/state.json';
const STAGING = '/usr/local/kairos-spegel/staging';

/** The process exists and has not exited (an orphan may stay a zombie until something reaps it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

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
  const nodes: InstalledNode[] = [];
  const img = (name: string) => `${registry?.host}/kairos/${name}`;
  const agent = () => defaultKairosAgent().binary;

  async function publish(name: string, version: string | undefined, big = 0) {
    const layout = path.join(dir, `layout-${name.replace(/\W/g, '-')}`);
    writeImage(layout, 'x', [{ tar: rawTar(osTree(version, big)), compression: big ? 'zstd' : 'gzip' }]);
    await pushImage(undefined, `${layout}:x`, img(name));
  }

  /** A node installed with v3.6.0, the registry in hosts.toml, a reboot command that leaves a mark. */
  async function node(opts: { kairosAgent?: string; stateMiB?: number } = {}): Promise<InstalledNode> {
    const kairosAgent = opts.kairosAgent ?? agent();
    const n = await installKairosNode(path.join(dir, `node${++beds}`), {
      release: release('v3.6.0'),
      kairosAgent,
      binds: [path.dirname(FAULT)],
      kairosSpegel: ['  distro: containerd', '  containerd: {socket: /run/none/containerd.sock}', `  upgrade: {kairos_agent: ${kairosAgent}, reboot_delay: 300ms, reboot_command: /root/reboot}`],
      ...(opts.stateMiB ? { stateMiB: opts.stateMiB } : {}),
    });
    nodes.push(n);
    n.node.write(`/etc/containerd/certs.d/${registry.host}/hosts.toml`, `server = "${registry.url}"\n`);
    n.node.write('/root/reboot', '#!/bin/sh\necho rebooted > /root/rebooted\n', 0o755);
    return n;
  }
  const stagings = (n: InstalledNode) => (existsSync(n.node.path(STAGING)) ? readdirSync(n.node.path(STAGING)).filter((d) => /^[0-9a-f]{64}$/.test(d)) : []);
  const applied = (n: InstalledNode) => (JSON.parse(readFileSync(n.node.path(STATE), 'utf8')) as { applied: { result: string; version: string; recovery: boolean }[] }).applied;

  beforeAll(async () => {
    requireRoot('kairos-agent upgrades a loop disk from a chroot');
    registry = await startLoopbackRegistry(dir, 'reg');
    await publish('os:v3.6.1', 'v3.6.1');
    await publish('os:v3.6.0', 'v3.6.0');
    await publish('not-kairos:v1', undefined);
    await publish('big:v3.7.0', 'v3.7.0', 200_000_000);
  }, 300_000);
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.destroy();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('applies the staged rootfs with kairos-agent; records it; removes the staging', async () => {
    const n = await node();
    const r = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { action: string; rootfs: string; version: string; current: string };
    expect(result).toMatchObject({ action: 'applied', version: 'v3.6.1-k3sv1.33.4+k3s1', current: 'v3.6.0-k3sv1.33.4+k3s1' });
    expect(r.stderr).toContain(`"command":"${agent()} upgrade --source dir:${result.rootfs}"`);
    expect(await n.release('active.img')).toBe(release('v3.6.1'));
    expect(await n.release('passive.img')).toBe(release('v3.6.0'));
    expect(stagings(n)).toEqual([]);
    expect(applied(n)).toEqual([expect.objectContaining({ result: 'applied', version: 'v3.6.1-k3sv1.33.4+k3s1', recovery: false })]);
    expect(r.stderr).toMatch(/no containerd to seed/);
  });

  it('--recovery upgrades the recovery system; --reboot reboots after the logged delay', async () => {
    const n = await node();
    const r = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1'), '--recovery', '--reboot']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await n.disk.readImageFile('recovery.img', 'etc/kairos-release', 'recovery')).toBe(release('v3.6.1'));
    expect(await n.release('passive.img'), 'the active system is left alone').toBeUndefined();
    expect(applied(n)).toEqual([expect.objectContaining({ result: 'applied', recovery: true })]);
    expect(r.stderr).toMatch(/rebooting in 300ms/);
    expect(readFileSync(n.node.path('/root/rebooted'), 'utf8')).toBe('rebooted\n');
  });

  it('equal versions: kairos-agent is not called, exit 0, "up to date"; --force applies it anyway', async () => {
    const n = await node();
    const r = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.0')]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'up-to-date', version: 'v3.6.0-k3sv1.33.4+k3s1' });
    expect(r.stderr).not.toContain('running kairos-agent');
    expect(await n.release('passive.img')).toBeUndefined();
    const forced = await n.kairosSpegel(['upgrade', img('os:v3.6.0'), '--force']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(await n.release('passive.img')).toBe(release('v3.6.0'));
  });

  it('refuses an image without kairos-release unless forced', async () => {
    const n = await node();
    const r = await n.kairosSpegel(['--json', 'upgrade', img('not-kairos:v1')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_NO_RELEASE', hint: expect.stringContaining('--force') });
    expect(r.stderr).not.toContain('running kairos-agent');
    expect(await n.release('passive.img')).toBeUndefined();
  });

  it('works offline once the image is prepulled and staged', async () => {
    const n = await node();
    const pre = await n.kairosSpegel(['--json', 'prepull', '--unpack', img('os:v3.6.1')]);
    expect(pre.code, pre.stderr).toBe(0);
    expect(JSON.parse(pre.stdout).staged).toMatch(/staging\/[0-9a-f]{64}\/rootfs$/);
    // The registry disappears: hosts.toml now names a dead server.
    n.node.write(`/etc/containerd/certs.d/${registry.host}/hosts.toml`, 'server = "http://127.0.0.1:9"\n');
    const r = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/already in the store: no download/);
    expect(await n.release('active.img')).toBe(release('v3.6.1'));
  });

  it('a layer damaged in the store (a bit flip) is fetched again, and the upgrade goes on', async () => {
    const n = await node();
    const pre = await n.kairosSpegel(['--json', 'prepull', img('os:v3.6.1')]);
    expect(pre.code, pre.stderr).toBe(0);
    const blobs = n.node.path('/usr/local/kairos-spegel/store/blobs/sha256');
    const layer = readdirSync(blobs)
      .map((f) => path.join(blobs, f))
      .find((f) =>
        readFileSync(f)
          .subarray(0, 2)
          .equals(Buffer.from([0x1f, 0x8b])),
      )!; // the gzip layer
    const bytes = readFileSync(layer);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    writeFileSync(layer, bytes);
    const r = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/damaged in the store: their bytes do not hash to their digests; fetching them again/);
    expect(await n.release('active.img')).toBe(release('v3.6.1'));
  });

  it('a failing kairos-agent fails the upgrade, keeps the staging and records the failure', async () => {
    const n = await node({ kairosAgent: FAULT });
    const r = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_KAIROS_AGENT', message: expect.stringMatching(/exit 1.*no space left on device/) });
    expect(r.stderr).toMatch(/"level":"error".*"from":"kairos-agent".*no space left on device/);
    expect(stagings(n)).toHaveLength(1);
    expect(applied(n).at(-1)!.result).toBe('failed');
  });

  it('kill -9 while kairos-agent runs: the next upgrade is refused (E_LOCKED, naming it) until that kairos-agent exits', async () => {
    const n = await node({ kairosAgent: FAULT });
    const lockFile = n.node.path('/usr/local/kairos-spegel/lock');
    const [cmd, args] = n.kairosSpegelCommand(['upgrade', img('os:v3.6.1')], { env: { KAIROS_AGENT_FAULT_WAIT: '/root/go' } });
    const first = spawn(cmd, args, { stdio: 'ignore' });
    const firstExit = new Promise((r) => first.on('exit', r));
    await waitFor('kairos-agent to start and be named in the lock file', () => (existsSync(lockFile) && /kairos-agent pid \d+/.test(readFileSync(lockFile, 'utf8')) ? true : undefined), 60_000);
    const agentPid = Number(/kairos-agent pid (\d+)/.exec(readFileSync(lockFile, 'utf8'))![1]);
    first.kill('SIGKILL');
    await firstExit;
    expect(running(agentPid), 'the first kairos-agent outlives the killed upgrade').toBe(true);

    const second = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1')]);
    expect(second.code, second.stderr).toBe(EXIT_LOCKED);
    expect(JSON.parse(second.stdout).error).toMatchObject({ code: 'E_LOCKED', message: expect.stringContaining(`kairos-agent pid ${agentPid}`) });
    expect(second.stderr).not.toContain('running kairos-agent');

    n.node.write('/root/go', '');
    await waitFor('the first kairos-agent to exit', () => (running(agentPid) ? undefined : true), 60_000);
    // Free now: this run reaches kairos-agent (which fails at once, being the fault injector).
    const third = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1')]);
    expect(JSON.parse(third.stdout).error).toMatchObject({ code: 'E_KAIROS_AGENT' });
  });

  it('kill -9 of an upgrade that is pid 1 of its own pid namespace (as in a NodeOp pod): its kairos-agent goes with the namespace, and the next upgrade runs', async () => {
    const n = await node({ kairosAgent: FAULT });
    const lockFile = n.node.path('/usr/local/kairos-spegel/lock');
    const marker = n.node.path('/root/agent.pid');
    // The fault injector records its host pid: pgrep would also see other tests' injectors.
    const [cmd, args] = n.kairosSpegelCommand(['upgrade', img('os:v3.6.1')], {
      env: { KAIROS_AGENT_FAULT_WAIT: '/root/go', KAIROS_AGENT_FAULT_PIDFILE: '/root/agent.pid' },
      via: (c, a) => ['unshare', ['--pid', '--fork', '--kill-child', c, ...a]],
    });
    const first = spawn(cmd, args, { stdio: 'ignore' });
    const firstExit = new Promise((r) => first.on('exit', r));
    await waitFor('kairos-agent to start and be named in the lock file', () => (existsSync(marker) && /kairos-agent pid \d+/.test(readFileSync(lockFile, 'utf8')) ? true : undefined), 60_000);
    expect(readFileSync(lockFile, 'utf8'), 'the agent is pid 1 of its namespace').toMatch(/^kairos-spegel pid 1 /);
    const agentPid = Number(readFileSync(marker, 'utf8'));
    expect(running(agentPid)).toBe(true);
    first.kill('SIGKILL'); // unshare --kill-child takes the agent (pid 1) with it, and the kernel the rest of the namespace
    await firstExit;
    await waitFor('the kairos-agent of the killed namespace to be gone', () => (running(agentPid) ? undefined : true), 60_000);
    // Nothing blocks: this run reaches kairos-agent (which fails at once, being the fault injector).
    const second = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.1')]);
    expect(JSON.parse(second.stdout).error, second.stderr).toMatchObject({ code: 'E_KAIROS_AGENT' });
  });

  it('"up to date" leaves alone the staging that a running upgrade --force is handing to kairos-agent', async () => {
    const n = await node({ kairosAgent: FAULT });
    const lockFile = n.node.path('/usr/local/kairos-spegel/lock');
    const [cmd, args] = n.kairosSpegelCommand(['upgrade', '--force', img('os:v3.6.0')], { env: { KAIROS_AGENT_FAULT_WAIT: '/root/go' } });
    const forced = spawn(cmd, args, { stdio: 'ignore' });
    const forcedExit = new Promise((r) => forced.on('exit', r));
    try {
      await waitFor('kairos-agent to start', () => (existsSync(lockFile) && /kairos-agent pid \d+/.test(readFileSync(lockFile, 'utf8')) ? true : undefined), 60_000);
      const before = stagings(n);
      expect(before).toHaveLength(1);
      const r = await n.kairosSpegel(['--json', 'upgrade', img('os:v3.6.0')]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ action: 'up-to-date' });
      expect(r.stderr).toMatch(/the staging stays: another upgrade is running/);
      expect(stagings(n)).toEqual(before);
    } finally {
      n.node.write('/root/go', '');
      await forcedExit;
    }
  });

  it('50 SIGKILLs at random moments of upgrade never leave two kairos-agents running at once', async () => {
    const n = await node({ kairosAgent: FAULT });
    const log = n.node.path('/root/agents.log');
    const env = { KAIROS_AGENT_FAULT_LOG: '/root/agents.log', KAIROS_AGENT_FAULT_SLEEP: '0.3' };
    // The detector itself: two injectors started side by side do see each other.
    const control = path.join(dir, 'control.log');
    await Promise.all([0, 1].map(() => must(FAULT, ['upgrade', '--source', 'dir:/x'], { env: { ...process.env, KAIROS_AGENT_FAULT_LOG: control, KAIROS_AGENT_FAULT_SLEEP: '1' } })));
    expect(readFileSync(control, 'utf8')).toMatch(/others=1/);

    // The moments come from one whole run on this machine as loaded as it is now: when
    // kairos-agent started in it (its first log line) and when it ended. Half the kills fall
    // anywhere in a run, half from just before kairos-agent's start to the end.
    const upgrade = (logFile: string) => {
      const [cmd, args] = n.kairosSpegelCommand(['upgrade', '--force', img('os:v3.6.1')], { env: { ...env, KAIROS_AGENT_FAULT_LOG: logFile } });
      const child = spawn(cmd, args, { stdio: 'ignore' });
      return { child, exited: new Promise<number | null>((r) => child.on('exit', r)) };
    };
    const t0 = performance.now();
    const calibration = upgrade('/root/calibration.log');
    await waitFor('kairos-agent to start in the calibration run', () => existsSync(n.node.path('/root/calibration.log')) || undefined, 120_000);
    const agentStart = performance.now() - t0;
    expect(await calibration.exited).toBe(0);
    const whole = performance.now() - t0;
    for (let i = 0; i < 50; i++) {
      const { child, exited } = upgrade('/root/agents.log');
      const at = i % 2 === 0 ? Math.random() * whole : Math.max(0, agentStart - 200) + Math.random() * (whole - agentStart + 200);
      await new Promise((r) => setTimeout(r, at));
      child.kill('SIGKILL');
      await exited;
    }
    const stillRunning = () => (existsSync(`${log}.running`) ? readdirSync(`${log}.running`) : []);
    await waitFor('the last kairos-agent to finish', () => (stillRunning().length === 0 ? true : undefined), 60_000).catch(async (err: unknown) => {
      const ps = await run('ps', ['-eo', 'pid,ppid,stat,etime,args']);
      throw new Error(
        `${(err as Error).message}; pids still marked running: ${stillRunning().join(' ')}; processes:\n${ps.stdout
          .split('\n')
          .filter((l) => /kairos-(agent|spegel)/.test(l))
          .join('\n')}`,
      );
    });
    const starts = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('start '));
    expect(starts.length, 'some kill came after kairos-agent had started').toBeGreaterThan(5);
    expect(starts.filter((l) => !l.endsWith(' others=0'))).toEqual([]);
  }, 300_000);

  /** A node with the 200 MB image prepulled, its `upgrade` started and caught once the unpack has written part of the rootfs. */
  async function bigUpgradeUntilUnpacking() {
    const n = await node({ stateMiB: 800 });
    const pre = await n.kairosSpegel(['prepull', img('big:v3.7.0')], { timeoutMs: 300_000 });
    expect(pre.code, pre.stderr).toBe(0);
    const [cmd, args] = n.kairosSpegelCommand(['--json', 'upgrade', img('big:v3.7.0')]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    for (;;) {
      const s = stagings(n);
      const fw = s.length ? n.node.path(`${STAGING}/${s[0]}/rootfs/usr/lib`) : '';
      if (fw && existsSync(fw) && readdirSync(fw).length >= 3) break;
      if (child.exitCode !== null) throw new Error('the upgrade ended before it could be interrupted');
      await new Promise((r) => setTimeout(r, 5));
    }
    return { n, child, exited, output: () => ({ stdout, stderr }) };
  }

  it('SIGTERM during unpack: exit 143, interrupted, nothing applied, no marked staging; the next run completes', async () => {
    const { n, ...run } = await bigUpgradeUntilUnpacking();
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    const { stdout, stderr } = run.output();
    expect(code, stderr).toBe(143);
    expect(JSON.parse(stdout).error).toMatchObject({ code: 'E_INTERRUPTED', message: 'interrupted by SIGTERM' });
    expect(stderr).not.toContain('running kairos-agent');
    expect(await n.release('passive.img'), 'nothing was applied').toBeUndefined();
    expect(stagings(n).filter((s) => existsSync(n.node.path(`${STAGING}/${s}/staged.json`)))).toEqual([]);
    const again = await n.kairosSpegel(['--json', 'upgrade', img('big:v3.7.0')], { timeoutMs: 300_000 });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await n.release('active.img')).toBe(release('v3.7.0'));
    rmSync(n.node.path('/usr/local/kairos-spegel'), { recursive: true, force: true });
  }, 300_000);

  it('kill -9 during unpack leaves no marked staging, and the next run completes', async () => {
    const { n, ...run } = await bigUpgradeUntilUnpacking();
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    const left = stagings(n);
    expect(left).toHaveLength(1);
    expect(existsSync(n.node.path(`${STAGING}/${left[0]}/staged.json`))).toBe(false);
    const r = await n.kairosSpegel(['--json', 'upgrade', img('big:v3.7.0')], { timeoutMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removing an incomplete staging left by an interrupted unpack/);
    expect(await n.release('active.img')).toBe(release('v3.7.0'));
    rmSync(n.node.path('/usr/local/kairos-spegel'), { recursive: true, force: true });
  }, 300_000);
});
