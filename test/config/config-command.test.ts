/**
 * `config`: the effective kairos-spegel: block, merged from the node's cloud-config files as
 * Kairos merges them, each value with the file:line that set it or "default"; the same for
 * --config FILE; plainly said when there is no block; a bad config fails as everywhere (exit 2).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigReport } from '../../src/app/config.ts';
import { agentSchema } from '../../src/config/agent-config.ts';
import { runAgent } from '../../testbed/agent.ts';
import { PASSWORDS } from '../../testbed/secrets.ts';
import { tempDir } from '../../testbed/tmp.ts';

function nodeRoot(files: Record<string, string>): string {
  const root = tempDir();
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

async function config(args: string[]): Promise<{ code: number | null; doc: ConfigReport; text: string }> {
  const [json, text] = await Promise.all([runAgent(['--json', ...args, 'config']), runAgent([...args, 'config'])]);
  expect(text.code).toBe(json.code);
  return { code: json.code, doc: JSON.parse(json.stdout) as ConfigReport, text: text.stdout };
}

const byKey = (doc: ConfigReport) => new Map(doc.values.map((v) => [v.key, v]));

describe('config', () => {
  it('shows each value with the file and line that set it, a later file winning, and the rest as defaults', async () => {
    const pw = tempDir();
    writeFileSync(path.join(pw, 'ghcr'), `${PASSWORDS.registry}\n`);
    const root = nodeRoot({
      'oem/90_spegel.yaml': [
        '#cloud-config',
        'k3s:',
        `  args: ["--token=${PASSWORDS.onBadLine}"]`,
        'kairos-spegel:',
        '  distro: k3s',
        '  pull:',
        '    upstream: after 10m',
        '    parallel: 2',
        '  credentials:',
        '    - registry: ghcr.io',
        '      username: bot',
        `      password_file: ${pw}/ghcr`,
        '',
      ].join('\n'),
      'oem/95_override.yaml': ['#cloud-config', 'kairos-spegel:', '  pull:', '    parallel: 8', '  store: {keep: 3}', ''].join('\n'),
      'oem/99_notes.yaml': 'no header: Kairos skips it\n',
    });
    const { code, doc, text } = await config(['--root', root]);
    expect(code).toBe(0);
    const a = path.join(root, 'oem/90_spegel.yaml');
    const b = path.join(root, 'oem/95_override.yaml');
    expect(doc.files).toEqual([a, b]);
    expect(doc.has_block).toBe(true);
    expect(doc.skipped.map((s) => s.file)).toEqual([path.join(root, 'oem/99_notes.yaml')]);
    const v = byKey(doc);
    // Every key of the schema, once, sections flattened.
    const keys = Object.entries(agentSchema.fields).flatMap(([k, f]) => ('fields' in f.parse ? Object.keys(f.parse.fields as object).map((n) => `${k}.${n}`) : [k]));
    expect(doc.values.map((x) => x.key)).toEqual(keys);
    expect(v.get('distro')).toEqual({ key: 'distro', value: 'k3s', source: { file: a, line: 5, col: 11 } });
    expect(v.get('pull.upstream')).toMatchObject({ value: 'after 10m', source: { file: a, line: 7 } });
    expect(v.get('pull.parallel')).toMatchObject({ value: 8, source: { file: b, line: 4 } });
    expect(v.get('store.keep')).toMatchObject({ value: 3, source: { file: b, line: 5 } });
    expect(v.get('credentials')).toMatchObject({ value: [{ registry: 'ghcr.io', username: 'bot', password_file: `${pw}/ghcr` }], source: { file: a, line: 10 } });
    // Defaults, written as one would write them in the cloud-config.
    expect(v.get('wait_for_ip')).toEqual({ key: 'wait_for_ip', value: '30s', source: null });
    expect(v.get('store.free_space_margin')).toMatchObject({ value: '256MiB', source: null });
    expect(v.get('pull.stall_bytes_per_sec')).toMatchObject({ value: '10KiB/s', source: null });
    expect(v.get('mirror.ports')).toMatchObject({ value: [30020, 30021], source: null });
    expect(v.get('node_ip')).toMatchObject({ value: null, source: null });

    expect(text).toMatch(new RegExp(`^pull\\.parallel +8 +${b.replaceAll('.', '\\.')}:4$`, 'm'));
    expect(text).toMatch(/^wait_for_ip +30s +default$/m);
    // Only the kairos-spegel: block is shown: the k3s token beside it and the password file's content never are
    // (runAgent also fails any run that prints a test password).
    expect(text + JSON.stringify(doc)).not.toContain(PASSWORDS.onBadLine);
    expect(text + JSON.stringify(doc)).not.toContain(PASSWORDS.registry);
  });

  it('--config FILE: that file alone', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'site.yaml');
    writeFileSync(file, '#cloud-config\nkairos-spegel:\n  mirror:\n    dial_timeout: 500ms\n');
    const root = nodeRoot({ 'oem/90.yaml': '#cloud-config\nkairos-spegel: {distro: k0s}\n' });
    const { code, doc } = await config(['--root', root, '--config', file]);
    expect(code).toBe(0);
    expect(doc.files).toEqual([file]);
    expect(byKey(doc).get('mirror.dial_timeout')).toMatchObject({ value: '500ms', source: { file, line: 4, col: 19 } });
    expect(byKey(doc).get('distro')).toMatchObject({ value: 'auto', source: null });
  });

  it('says plainly when no file has a kairos-spegel: block', async () => {
    const root = nodeRoot({ 'oem/90.yaml': '#cloud-config\nk3s: {enabled: true}\n' });
    const { code, doc, text } = await config(['--root', root]);
    expect(code).toBe(0);
    expect(doc.has_block).toBe(false);
    expect(doc.values.every((x) => x.source === null)).toBe(true);
    expect(text).toContain('No kairos-spegel: block in the cloud-config: every value below is a default.');
    const none = await config(['--root', tempDir()]);
    expect(none.doc).toMatchObject({ files: [], has_block: false });
  });

  it('a configuration error fails as in every command: E_CONFIG at file:line:col, exit 2', async () => {
    const root = nodeRoot({ 'oem/90.yaml': '#cloud-config\nkairos-spegel:\n  pull:\n    parallel: many\n' });
    const r = await runAgent(['--json', '--root', root, 'config']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_CONFIG', problems: [{ file: path.join(root, 'oem/90.yaml'), line: 4, key: 'kairos-spegel.pull.parallel' }] } });
  });
});
