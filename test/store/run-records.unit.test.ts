/** Run records: one file per command, so concurrent runs of different commands keep both records. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRunRecords, writeRunRecord } from '../../src/store/run-records.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const fresh = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'ks-runs-'));
  dirs.push(d);
  return path.join(d, 'runs');
};

describe('run records', () => {
  it('reads nothing before the first run', async () => {
    expect(await readRunRecords(fresh())).toEqual(new Map());
  });

  it('runs of different commands written at once keep both; a later run of one replaces only its own', async () => {
    const dir = fresh();
    await Promise.all([
      writeRunRecord(dir, 'upgrade', { at: '2026-12-03T01:00:00.000Z', exit_code: 0 }),
      writeRunRecord(dir, 'health', { at: '2026-12-03T01:00:00.000Z', exit_code: 4, verdict: 'unhealthy' }),
    ]);
    await writeRunRecord(dir, 'health', { at: '2026-12-03T02:00:00.000Z', exit_code: 0, verdict: 'healthy' });
    expect(Object.fromEntries(await readRunRecords(dir))).toEqual({
      health: { at: '2026-12-03T02:00:00.000Z', exit_code: 0, verdict: 'healthy' },
      upgrade: { at: '2026-12-03T01:00:00.000Z', exit_code: 0 },
    });
    expect(readdirSync(dir).sort()).toEqual(['health.json', 'upgrade.json']);
  });

  it('leaves out a torn or foreign file instead of failing every later run', async () => {
    const dir = fresh();
    await writeRunRecord(dir, 'gc', { at: '2026-12-03T01:00:00.000Z', exit_code: 1 });
    writeFileSync(path.join(dir, 'prepull.json'), '{"at": "2026-12-03T0');
    writeFileSync(path.join(dir, 'configure.json'), '{"exit_code": "zero"}');
    expect([...(await readRunRecords(dir)).keys()]).toEqual(['gc']);
  });
});
