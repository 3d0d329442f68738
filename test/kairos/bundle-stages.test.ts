/**
 * The bundle and its stage file, taken by the real kairos-agent of each pinned version on a
 * node root (testbed/kairos-node.ts): `install-bundle run://` from a loopback registry
 * (twice: the second run changes nothing), then `run-stage` for every stage the stage file
 * declares, which runs the launcher the bundle installed: the network stage writes the
 * node's hosts.toml with its IP, and a failing step is logged at error level.
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KairosNode } from '../../testbed/kairos-node.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { VERSION } from '../../testbed/package.ts';
import { kairosAgents } from '../../testbed/peers.ts';
import { must } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const STAGE_FILE = path.join(ROOT, 'stages/kairos-spegel.yaml');
const STAGES = Object.keys((parse(readFileSync(STAGE_FILE, 'utf8')) as { stages: Record<string, unknown> }).stages);
/** Where README's "1. A bundle in cloud-config" says the files go. */
const README_PATHS = ['/usr/local/bin/kairos-spegel', '/usr/local/lib/kairos-spegel/kairos-spegel', '/usr/local/cloud-config/kairos-spegel.yaml'];

const dir = tempDir('ks-kbundle-');
let registry: LoopbackRegistry;
let target: string;

beforeAll(async () => {
  registry = await startLoopbackRegistry(dir, 'bundles');
  const ref = `${registry.host}/kairos/kairos-spegel-bundle:${VERSION}`;
  await must('sh', [path.join(ROOT, 'scripts/push-bundle.sh'), ref, '--dest-tls-verify=false'], { timeoutMs: 180_000 });
  // kairos-agent has no insecure flag: go-containerregistry speaks plain HTTP to 127.0.0.1.
  target = `run://${ref}`;
}, 240_000);
afterAll(async () => {
  await registry?.stop();
});

/** inode, mtime and ctime of every file README names: what any write would change. */
function fingerprint(node: KairosNode): string[] {
  return README_PATHS.map((p) => {
    const s = statSync(node.path(p));
    return `${p} ${s.ino} ${s.mtimeMs} ${s.ctimeMs} ${(s.mode & 0o7777).toString(8)}`;
  });
}

describe.each(kairosAgents())('$label: the bundle and the stage file', ({ binary, version }) => {
  const agentDir = path.dirname(binary);
  const node = KairosNode.prepare(tempDir('ks-kbundle-node-'));
  const agent = (args: string[], env: Record<string, string> = {}) => node.run([binary, ...args], { binds: [agentDir], env, timeoutMs: 180_000 });

  it('install-bundle run:// installs the files where README says; a second run writes nothing', async () => {
    const first = await agent(['install-bundle', target]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    for (const p of README_PATHS) expect(lstatSync(node.path(p)).isFile(), p).toBe(true);
    expect(statSync(node.path('/usr/local/bin/kairos-spegel')).mode & 0o111).not.toBe(0);
    expect(readFileSync(node.path('/usr/local/cloud-config/kairos-spegel.yaml'), 'utf8')).toBe(readFileSync(STAGE_FILE, 'utf8'));
    expect(() => statSync(node.path('/etc/containerd')), 'no /run/cos/*_mode (an installer): run.sh configures nothing').toThrow();
    const before = fingerprint(node);
    const again = await agent(['install-bundle', target]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(fingerprint(node)).toEqual(before);
  });

  it(`run-stage runs the installed stage file at ${STAGES.join(', ')}; the network stage writes hosts.toml with the node IP`, async () => {
    node.write('/oem/90_kairos-spegel.yaml', '#cloud-config\nkairos-spegel:\n  node_ip: 10.3.3.3\n');
    const hostsToml = node.path('/etc/containerd/certs.d/_default/hosts.toml');
    for (const stage of STAGES) {
      const r = await agent(['run-stage', stage]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout, `${stage}:\n${r.stdout}`).toContain(`Processing stage step 'kairos-spegel.kairos-spegel configure (${stage})'`);
      expect(r.stdout, `${stage}:\n${r.stdout}`).not.toMatch(/ ERR /);
      if (stage === 'boot') expect(() => statSync(hostsToml), 'the boot stage runs before the node has its IP').toThrow();
    }
    expect(readFileSync(hostsToml, 'utf8')).toMatch(/^\[host\.['"]http:\/\/10\.3\.3\.3:30020['"]\]$/m);
  });

  it('on a booted system (a top-level bundles: at first boot), run.sh also configures this boot', async () => {
    const booted = KairosNode.prepare(tempDir('ks-kbundle-booted-'));
    booted.write('/run/cos/active_mode', '1');
    booted.write('/oem/90_kairos-spegel.yaml', '#cloud-config\nkairos-spegel:\n  node_ip: 10.4.4.4\n');
    const r = await booted.run([binary, 'install-bundle', target], { binds: [agentDir], timeoutMs: 180_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(booted.path('/etc/containerd/certs.d/_default/hosts.toml'), 'utf8')).toContain('http://10.4.4.4:30020');
  });

  it('a step that fails is logged at error level, and the stage goes on (exit 0)', async () => {
    node.write('/oem/90_kairos-spegel.yaml', '#cloud-config\nkairos-spegel:\n  mirror: {ports: [nope]}\n');
    const r = await agent(['run-stage', 'network']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ ERR .*Error on file \/usr\/local\/cloud-config\/kairos-spegel\.yaml on stage kairos-spegel configure \(network\)/);
    expect(r.stdout).toMatch(/ WRN .*failed to run .*kairos-spegel configure --stage network.*exit status 2/s);
    // yip 1.18.1 (kairos-agent v2.25 on) adds the command's output: the agent's own error, naming the key.
    if (version.localeCompare('v2.25.0', 'en', { numeric: true }) >= 0) expect(r.stdout).toMatch(/kairos-spegel\.mirror\.ports\[0\]/);
    else expect(r.stdout).not.toMatch(/kairos-spegel\.mirror\.ports/);
  });
});

describe.each(kairosAgents())('$label: the stage file without the agent', ({ binary }) => {
  it('in /oem, on a node without the launcher: every step is skipped (yip warns), nothing fails', async () => {
    const node = KairosNode.prepare(tempDir('ks-kstage-'));
    node.write('/oem/kairos-spegel.yaml', readFileSync(STAGE_FILE, 'utf8'));
    for (const stage of STAGES) {
      const r = await node.run([binary, 'run-stage', stage], { binds: [path.dirname(binary)] });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(` WRN .*Skipping stage .*stage name: kairos-spegel\\.kairos-spegel configure \\(${stage}\\)`));
      expect(r.stdout).not.toMatch(/ ERR /);
    }
    expect(() => statSync(node.path('/etc/containerd'))).toThrow();
  });
});
