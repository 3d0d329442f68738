/**
 * How each command's last run ended, for the metrics a later run renders: one small JSON file
 * per command in a directory next to the state file. Each file is written only by runs of its
 * own command and replaced whole, so recording a run never rewrites what another process
 * recorded (a `health` ending while an `upgrade` records its result loses neither), with no
 * lock on the boot path.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { readOwnJson } from '../fs/read-json.ts';

export type HealthVerdict = 'healthy' | 'degraded' | 'unhealthy';

export interface RunRecord {
  at: string;
  exit_code: number;
  /** `health` only: the verdict, when the check reached one. */
  verdict?: HealthVerdict;
}

const SUFFIX = '.json';

export async function writeRunRecord(dir: string, command: string, record: RunRecord): Promise<void> {
  await writeFileAtomic(path.join(dir, `${command}${SUFFIX}`), `${JSON.stringify(record)}\n`);
}

/** The last run of each command, by its name; a torn or foreign file is left out. */
export async function readRunRecords(dir: string): Promise<Map<string, RunRecord>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return new Map();
    throw err;
  }
  const records = new Map<string, RunRecord>();
  for (const name of names.filter((n) => n.endsWith(SUFFIX)).sort()) {
    const r = await readOwnJson(path.join(dir, name));
    if (typeof r?.at === 'string' && typeof r.exit_code === 'number') records.set(name.slice(0, -SUFFIX.length), r as unknown as RunRecord);
  }
  return records;
}
