/** Logs: one JSON object per line for journald (the binary's output); the terminal form is in logging.unit.test.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { tempDir } from '../../testbed/tmp.ts';

describe('logs', () => {
  it('are JSON lines with level, time and msg when not on a terminal', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'oem'));
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {distro: k3s}\n');
    const r = await runAgent(['--root', root, 'configure']);
    expect(r.code).toBe(0);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ level: expect.any(String), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), msg: expect.any(String), cmd: 'configure' });
  });

  it('go to stderr, so stdout is only the result, with --json or without', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'oem'));
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {distro: k3s}\n');
    const r = await runAgent(['--root', root, '--json', 'configure']);
    expect(JSON.parse(r.stdout)).toMatchObject({ distro: 'k3s', files: [{ path: '/etc/rancher/k3s/registries.yaml', action: 'created' }] });
    expect(r.stderr).toContain('"msg":"created /etc/rancher/k3s/registries.yaml"');
    const text = await runAgent(['--root', root, 'configure']);
    expect(text.stdout).toBe('unchanged  /etc/rancher/k3s/registries.yaml\n');
  });

  it('never hide a usage or configuration error, whatever --log-level says', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'oem'));
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {distro: k3s, store: {keep: many}}\n');
    const config = await runAgent(['--root', root, '--log-level', 'silent', 'configure']);
    expect(config.code).toBe(2);
    expect(config.stdout).toBe('');
    expect(config.stderr).toMatch(/90\.yaml:2:\d+: kairos-spegel\.store\.keep/);
    const usage = await runAgent(['--log-level', 'silent', 'prepull']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('expected exactly one IMAGE');
  });
});
