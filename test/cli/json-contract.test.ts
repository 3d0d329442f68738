/**
 * The machine contract, command by command: each --json document names its schema and
 * validates against it (runAgent checks every --json run of every test the same way; this
 * file makes sure each schema is exercised at least once here, and that a schema cannot
 * pass a document with a field missing, renamed or left undefined).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { checkJsonDocument, SCHEMA_IDS } from '../../testbed/json-contract.ts';
import { tempDir } from '../../testbed/tmp.ts';

function k3sRoot(): string {
  const root = tempDir();
  mkdirSync(path.join(root, 'oem'));
  writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {distro: k3s}\n');
  return root;
}

describe('--json documents', () => {
  const seen = new Set<string>();
  const json = async (args: string[]) => {
    const r = await runAgent(['--json', ...args]);
    const doc = checkJsonDocument(args.join(' '), r.stdout);
    seen.add(doc['schema'] as string);
    return { code: r.code, doc };
  };

  it('version, configure, health, status, images, gc, validate, config and the error document match their schemas', async () => {
    const root = k3sRoot();
    expect((await json(['--version'])).doc).toMatchObject({ schema: 'kairos-spegel/version/v1' });
    expect((await json(['--root', root, 'configure', '--dry-run'])).doc).toMatchObject({ schema: 'kairos-spegel/configure/v1', dry_run: true, node_ip: null });
    expect((await json(['--root', root, 'configure'])).doc).toMatchObject({ schema: 'kairos-spegel/configure/v1', dry_run: false, diff: null });
    const health = await json(['--root', root, 'health']);
    expect(health.doc).toMatchObject({ schema: 'kairos-spegel/health/v1', status: 'unhealthy', exit_code: health.code });
    expect((await json(['--root', root, 'status'])).doc).toMatchObject({ schema: 'kairos-spegel/status/v1', installed: null, images: [] });
    expect((await json(['--root', root, 'images', '--verify'])).doc).toMatchObject({ schema: 'kairos-spegel/images/v1', images: [] });
    expect((await json(['--root', root, 'gc', '--dry-run'])).doc).toMatchObject({ schema: 'kairos-spegel/gc/v1', dry_run: true, removed: [] });
    expect((await json(['--root', root, 'validate'])).doc).toMatchObject({ schema: 'kairos-spegel/validate/v1', valid: true, problems: [] });
    expect((await json(['version'])).doc).toMatchObject({ schema: 'kairos-spegel/version/v1', commit: expect.any(String), build_date: expect.any(String) });
    expect((await json(['--root', root, 'config'])).doc).toMatchObject({
      schema: 'kairos-spegel/config/v1',
      has_block: true,
      values: expect.arrayContaining([{ key: 'distro', value: 'k3s', source: expect.any(Object) }]),
    });
    const usage = await json(['prepull']);
    expect(usage.doc).toMatchObject({ schema: 'kairos-spegel/error/v1', error: { code: 'E_USAGE', exit_code: usage.code, hint: expect.any(String), problems: null } });
    // prepull and upgrade documents are checked by the store and upgrade tests, which pull real images.
    expect([...seen].sort()).toEqual(SCHEMA_IDS.filter((id) => !/\/(prepull|upgrade)\//.test(id)).sort());
  });

  it('a schema refuses a document with a key missing, renamed, undefined or added', async () => {
    const root = k3sRoot();
    const { doc } = await json(['--root', root, 'status']);
    const text = (d: object) => JSON.stringify(d);
    const { installed: _installed, ...missing } = doc;
    expect(() => checkJsonDocument('missing', text(missing))).toThrow(/must have required property 'installed'/);
    expect(() => checkJsonDocument('renamed', text({ ...missing, installedVersion: null }))).toThrow(/must NOT have additional properties/);
    expect(() => checkJsonDocument('added', text({ ...doc, extra: 1 }))).toThrow(/must NOT have additional properties/);
    expect(() => checkJsonDocument('no schema', text({ ...doc, schema: 'kairos-spegel/status/v0' }))).toThrow(/names no known schema/);
  });
});
