/**
 * The boot wiring the sysext carries: systemd units that run the commands of the yip stage
 * file (stages/kairos-spegel.yaml) at the same moments: `boot` before k3s, k0s and
 * containerd start, `network` once the network is online, `reconcile` hourly. Bounded,
 * ordering only (a failure blocks nothing), and started from inside the image. Checked on
 * the units as the image holds them, by reading them, and by systemd itself: systemd-analyze
 * verify on a root made of this machine's units, the image's /usr and stand-ins for the k3s
 * and k0s units (not installed here), where added reverse orderings must form cycles.
 */
import { cpSync, lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../../testbed/netns.ts';
import { sysextImage } from '../../testbed/package.ts';
import { must, run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const RUNTIMES = ['k3s.service', 'k3s-agent.service', 'k0scontroller.service', 'k0sworker.service', 'containerd.service'];
const UNITS = 'usr/lib/systemd/system';

/** Stand-ins with the ordering-relevant lines of the units k3s' and k0s' installers write. */
const STAND_INS: Record<string, string> = {
  'k3s.service': 'Wants=network-online.target\nAfter=network-online.target\n[Service]\nType=notify\nExecStart=/usr/local/bin/k3s server\n',
  'k3s-agent.service': 'Wants=network-online.target\nAfter=network-online.target\n[Service]\nType=notify\nExecStart=/usr/local/bin/k3s agent\n',
  'k0scontroller.service': 'Wants=network-online.target\nAfter=network-online.target\n[Service]\nExecStart=/usr/local/bin/k0s controller\n',
  'k0sworker.service': 'Wants=network-online.target\nAfter=network-online.target\n[Service]\nExecStart=/usr/local/bin/k0s worker\n',
};

type Unit = Record<string, Record<string, string[]>>;

/** A unit file as section -> key -> values (repeated keys and space-separated lists joined). */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      unit[section] = {};
      continue;
    }
    const [key, ...rest] = line.split('=');
    const value = rest.join('=');
    const list = ['Before', 'After', 'Wants', 'Requires', 'BindsTo', 'Requisite', 'Upholds'].includes(key!) ? value.split(/\s+/) : [value];
    (unit[section]![key!] ??= []).push(...list);
  }
  return unit;
}

let root: string;
const unitFile = (name: string) => parseUnit(readFileSync(path.join(root, UNITS, name), 'utf8'));

beforeAll(async () => {
  requireRoot('systemd-dissect --copy-from attaches the image to a loop device');
  root = tempDir();
  // This machine's units (sysinit.target, network-online.target, containerd.service, ...),
  // then the image's /usr on top, as systemd-sysext merges it.
  mkdirSync(path.join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', path.join(root, UNITS), { recursive: true, verbatimSymlinks: true });
  const usr = path.join(tempDir(), 'usr');
  await must('systemd-dissect', ['--copy-from', sysextImage('amd64'), '/usr', usr]);
  cpSync(usr, path.join(root, 'usr'), { recursive: true, verbatimSymlinks: true });
  // Stand-ins, as k3s' and k0s' installers place them, with the binaries their ExecStart= names.
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
  for (const [name, body] of Object.entries(STAND_INS)) writeFileSync(path.join(root, 'etc/systemd/system', name), `# stand-in for the real unit\n[Unit]\n${body}`);
  mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
  for (const bin of ['k3s', 'k0s']) writeFileSync(path.join(root, 'usr/local/bin', bin), '#!/bin/sh\n', { mode: 0o755 });
  // A boot in small: sysinit.target (which brings in the agent's units by upholding
  // kairos-spegel.target) and every runtime.
  writeFileSync(path.join(root, 'etc/systemd/system/boot-check.target'), `[Unit]\nWants=sysinit.target ${RUNTIMES.join(' ')}\n`);
}, 120_000);

/**
 * systemd-analyze verify on the root, with warnings (ordering cycles) shown. Dependencies
 * are loaded and checked too (--recursive-errors=yes; with "no", systemd 252 does not load them).
 */
async function verify(units: string[], logLevel = 'warning') {
  const r = await run('systemd-analyze', ['verify', `--root=${root}`, '--man=no', '--generators=no', '--recursive-errors=yes', ...units], {
    env: { ...process.env, SYSTEMD_LOG_LEVEL: logLevel },
  });
  return { code: r.code, output: r.stdout + r.stderr };
}

/** Adds a drop-in to `unit` for the duration of `fn`. */
async function withDropIn<T>(unit: string, body: string, fn: () => Promise<T>): Promise<T> {
  const dir = path.join(root, 'etc/systemd/system', `${unit}.d`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'canary.conf'), `[Unit]\n${body}\n`);
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true });
  }
}

describe('the units in the sysext image', () => {
  it('run each stage of stages/kairos-spegel.yaml: the same command, bounded by the same timeout', () => {
    const stages = (parse(readFileSync(path.resolve(import.meta.dirname, '../../stages/kairos-spegel.yaml'), 'utf8')) as { stages: Record<string, { commands: string[] }[]> }).stages;
    const service = { boot: 'kairos-spegel-boot.service', network: 'kairos-spegel-network.service', reconcile: 'kairos-spegel-reconcile.service' };
    expect(Object.keys(stages)).toEqual(Object.keys(service));
    for (const [stage, unitName] of Object.entries(service)) {
      const [, timeout, args] = /^timeout (\d+) \/usr\/local\/bin\/kairos-spegel (.+)$/.exec(stages[stage]![0]!.commands[0]!)!;
      const unit = unitFile(unitName);
      expect(unit['Service']).toMatchObject({ Type: ['oneshot'], ExecStart: [`/usr/bin/kairos-spegel ${args}`], TimeoutStartSec: [timeout] });
      expect(args).toBe(`configure --stage ${stage}`);
      // Ordering and Wants= only: a failed run stops nothing, and nothing requires the agent.
      for (const hard of ['Requires', 'BindsTo', 'Requisite', 'RequiredBy', 'PartOf']) expect(unit['Unit']?.[hard]).toBeUndefined();
    }
  });

  it('boot runs before k3s, k3s-agent, k0scontroller, k0sworker and containerd; network and reconcile after network-online.target', () => {
    expect(unitFile('kairos-spegel-boot.service')['Unit']!['Before']!.sort()).toEqual([...RUNTIMES].sort());
    for (const name of ['kairos-spegel-network.service', 'kairos-spegel-reconcile.service']) {
      expect(unitFile(name)['Unit']).toMatchObject({ After: ['network-online.target'], Wants: ['network-online.target'] });
    }
  });

  it('reconcile runs 5 minutes after boot, then hourly, like cos-setup-reconcile.timer', () => {
    expect(unitFile('kairos-spegel-reconcile.timer')['Timer']).toEqual({ OnBootSec: ['5min'], OnUnitActiveSec: ['60min'] });
  });

  it('are started from inside the image: sysinit.target upholds kairos-spegel.target, which wants them', () => {
    expect(unitFile('sysinit.target.d/50-kairos-spegel.conf')).toEqual({ Unit: { Upholds: ['kairos-spegel.target'] } });
    const wants = path.join(root, UNITS, 'kairos-spegel.target.wants');
    const links = readdirSync(wants).sort();
    expect(links).toEqual(['kairos-spegel-boot.service', 'kairos-spegel-network.service', 'kairos-spegel-reconcile.timer']);
    for (const l of links) {
      expect(lstatSync(path.join(wants, l)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(path.join(wants, l))).toBe(`../${l}`);
    }
  });
});

describe('systemd-analyze verify', () => {
  it('passes the units, with /usr/bin/kairos-spegel present, and boots them with every runtime without ordering cycles', async () => {
    expect(lstatSync(path.join(root, 'usr/bin/kairos-spegel')).mode & 0o111).not.toBe(0);
    const units = ['kairos-spegel.target', 'kairos-spegel-boot.service', 'kairos-spegel-network.service', 'kairos-spegel-reconcile.service', 'kairos-spegel-reconcile.timer'];
    expect(await verify(units)).toEqual({ code: 0, output: '' });
    expect(await verify(['boot-check.target'])).toEqual({ code: 0, output: '' });
  });

  it('reports a missing /usr/bin/kairos-spegel (so the check above means something)', async () => {
    const launcher = path.join(root, 'usr/bin/kairos-spegel');
    const saved = readFileSync(launcher);
    rmSync(launcher);
    try {
      const r = await verify(['kairos-spegel-boot.service']);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain('Command /usr/bin/kairos-spegel is not executable');
    } finally {
      writeFileSync(launcher, saved, { mode: 0o755 });
    }
  });

  it.each(RUNTIMES)('orders kairos-spegel-boot.service before %s: the reverse order is a cycle', async (runtime) => {
    const r = await withDropIn(runtime, 'Before=kairos-spegel-boot.service', () => verify(['boot-check.target']));
    expect(r.output).toMatch(/Found ordering cycle/);
    expect(r.output).toContain(runtime);
    expect(r.output).toContain('kairos-spegel-boot.service');
  });

  it('orders kairos-spegel-network.service after network-online.target: the reverse order is a cycle', async () => {
    const r = await withDropIn('network-online.target', 'After=kairos-spegel-network.service', () => verify(['boot-check.target']));
    expect(r.output).toMatch(/Found ordering cycle/);
    expect(r.output).toContain('kairos-spegel-network.service');
  });

  it('loads the sysinit.target drop-in: sysinit.target upholds kairos-spegel.target', async () => {
    const r = await verify(['sysinit.target'], 'debug');
    expect(r.output).toMatch(/Upholds: kairos-spegel\.target \(origin-file\)/);
  });
});
