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
    const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ level: expect.any(String), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), msg: expect.any(String), cmd: 'configure' });
  });

  it('go to stderr with --json, so stdout is only the result', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'oem'));
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {distro: k3s}\n');
    const r = await runAgent(['--root', root, '--json', 'configure']);
    expect(JSON.parse(r.stdout)).toMatchObject({ distro: 'k3s', files: [{ path: '/etc/rancher/k3s/registries.yaml', action: 'created' }] });
    expect(r.stderr).toContain('"msg":"created /etc/rancher/k3s/registries.yaml"');
  });
});
