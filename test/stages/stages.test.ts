/**
 * The yip stage file: valid structure, the right command at each stage, bounded, and
 * never failing the stage. Its commands run here through `sh -c` exactly as written,
 * with `kairos-spegel` on PATH pointing at the built binary under a rehearsal root.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AGENT } from '../helpers/agent.ts';
import { run } from '../helpers/proc.ts';
import { tempDir } from '../helpers/tmp.ts';

interface Step {
  name: string;
  if?: string;
  commands: string[];
}
const STAGE_FILE = path.resolve(import.meta.dirname, '../../stages/kairos-spegel.yaml');
const doc = parse(readFileSync(STAGE_FILE, 'utf8')) as { name: string; stages: Record<string, Step[]> };

/** A PATH with `kairos-spegel` running `target` under `root`. */
function pathWith(root: string, target: string): string {
  const bin = path.join(root, '.bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'kairos-spegel'), `#!/bin/sh\nexec ${target} --root ${root} "$@"\n`);
  chmodSync(path.join(bin, 'kairos-spegel'), 0o755);
  return `${bin}:/usr/bin:/bin`;
}

async function runStep(step: Step, PATH: string) {
  const gate = step.if ? await run('/bin/sh', ['-c', step.if], { env: { PATH } }) : { code: 0 };
  if (gate.code !== 0) return { skipped: true, results: [] };
  const results = [];
  for (const c of step.commands) results.push(await run('/bin/sh', ['-c', c], { env: { PATH } }));
  return { skipped: false, results };
}

describe('stages/kairos-spegel.yaml', () => {
  it('has boot, network and reconcile steps running configure with the matching --stage, bounded by timeout', () => {
    expect(doc.name).toBe('kairos-spegel');
    expect(Object.keys(doc.stages)).toEqual(['boot', 'network', 'reconcile']);
    for (const [stage, steps] of Object.entries(doc.stages)) {
      for (const step of steps) {
        expect(Object.keys(step).sort()).toEqual(['commands', 'if', 'name']);
        for (const c of step.commands) expect(c).toMatch(new RegExp(`^timeout \\d+ kairos-spegel configure --stage ${stage} \\|\\| `));
      }
    }
  });

  it('boot writes the k3s registries.yaml; network writes hosts.toml', async () => {
    const k3s = tempDir();
    mkdirSync(path.join(k3s, 'oem'));
    writeFileSync(path.join(k3s, 'oem/90.yaml'), '#cloud-config\nk3s: {enabled: true}\n');
    const boot = await runStep(doc.stages['boot']![0]!, pathWith(k3s, AGENT));
    expect(boot.results.map((r) => r.code)).toEqual([0]);
    expect(existsSync(path.join(k3s, 'etc/rancher/k3s/registries.yaml'))).toBe(true);

    const plain = tempDir();
    mkdirSync(path.join(plain, 'oem'));
    writeFileSync(path.join(plain, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {node_ip: 10.3.3.3}\n');
    const PATH = pathWith(plain, AGENT);
    await runStep(doc.stages['boot']![0]!, PATH);
    expect(existsSync(path.join(plain, 'etc/containerd/certs.d/_default/hosts.toml'))).toBe(false);
    const network = await runStep(doc.stages['network']![0]!, PATH);
    expect(network.results.map((r) => r.code)).toEqual([0]);
    expect(readFileSync(path.join(plain, 'etc/containerd/certs.d/_default/hosts.toml'), 'utf8')).toContain('http://10.3.3.3:30020');
  });

  it('a failing agent does not fail the stage, and says so', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'oem'));
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {mirror: {ports: [nope]}}\n');
    for (const stage of ['boot', 'network', 'reconcile']) {
      const r = await runStep(doc.stages[stage]![0]!, pathWith(root, AGENT));
      expect(r.results[0]!.code).toBe(0);
      expect(r.results[0]!.stderr).toMatch(new RegExp(`kairos-spegel configure --stage ${stage} failed \\(exit 2\\)`));
    }
  });

  it('is skipped when the agent is not installed', async () => {
    const r = await runStep(doc.stages['boot']![0]!, '/usr/bin:/bin');
    expect(r.skipped).toBe(true);
  });
});
