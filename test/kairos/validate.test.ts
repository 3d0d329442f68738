/**
 * Every cloud-config in README (a ```yaml block that starts with #cloud-config), checked by
 * the real `kairos-agent validate` of each pinned version. Found by reading README, so a new
 * example is checked without touching this file. Kairos requires a user in the admin group:
 * whole configs carry one; a fragment (no `users:`) is validated merged into a minimal base.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { kairosAgents } from '../../testbed/peers.ts';
import { run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const README = path.resolve(import.meta.dirname, '../../README.md');
const BASE_USERS = [{ name: 'kairos', passwd: 'kairos', groups: ['admin'] }];

interface Example {
  line: number;
  text: string;
}

function readmeCloudConfigs(): Example[] {
  const text = readFileSync(README, 'utf8');
  const out: Example[] = [];
  for (const m of text.matchAll(/^```ya?ml\n(#cloud-config\n[\s\S]*?)^```$/gm)) {
    out.push({ line: text.slice(0, m.index).split('\n').length + 1, text: m[1]! });
  }
  return out;
}

/** The example as kairos-agent gets it: a fragment gains the base config's users. */
function asWholeConfig(example: string): { text: string; fragment: boolean } {
  const doc = parseDocument(example);
  if (doc.errors.length) throw new Error(`README example is not YAML: ${doc.errors[0]!.message}`);
  if (doc.has('users')) return { text: example, fragment: false };
  doc.set('users', BASE_USERS);
  return { text: `#cloud-config\n${doc.toString()}`, fragment: true };
}

const examples = readmeCloudConfigs();

describe('README cloud-configs', () => {
  it('are found (whole configs and fragments)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
    expect(examples.some((e) => !asWholeConfig(e.text).fragment)).toBe(true);
    expect(examples.some((e) => asWholeConfig(e.text).fragment)).toBe(true);
  });
});

describe.each(kairosAgents())('$label validate', ({ binary }) => {
  const dir = tempDir('ks-validate-');

  it.each(examples.map((e) => [e.line, e] as const))('accepts the README example at line %i', async (line, e) => {
    const file = path.join(dir, `readme-${line}.yaml`);
    writeFileSync(file, asWholeConfig(e.text).text);
    const r = await run(binary, ['validate', file], { env: { PATH: process.env['PATH'], NO_COLOR: '1' } });
    expect(r.code, `README.md:${line}\n${r.stdout}${r.stderr}`).toBe(0);
  });

  it('can fail: a config without an admin user, and one with a wrong type, are refused', async () => {
    const noUsers = path.join(dir, 'no-users.yaml');
    writeFileSync(noUsers, '#cloud-config\nkairos-spegel: {distro: k3s}\n');
    const wrongType = path.join(dir, 'wrong-type.yaml');
    writeFileSync(wrongType, '#cloud-config\nusers: [{name: kairos, passwd: kairos, groups: [admin]}]\ninstall: {auto: "yes please"}\n');
    for (const [file, says] of [
      [noUsers, /missing properties: 'users'/],
      [wrongType, /\/install\/auto.*expected boolean/],
    ] as const) {
      const r = await run(binary, ['validate', file], { env: { PATH: process.env['PATH'], NO_COLOR: '1' } });
      expect(r.code, `${file}\n${r.stdout}${r.stderr}`).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(says);
    }
  });
});
