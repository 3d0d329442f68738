/** Space where the store lives: checked before a download starts, and reported by status and the metrics. */
import { lstat, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { AgentError, errnoCode } from '../errors.ts';
import { nearestExisting } from '../fs/path-exists.ts';
import { formatBytes } from '../util/units.ts';

export async function ensureFreeSpace(dir: string, needed: number, margin: number): Promise<void> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (needed + margin > free) {
    throw new AgentError('E_NO_SPACE', `not enough free space in ${dir}: the image needs ${formatBytes(needed)} more, plus a margin of ${formatBytes(margin)}, and only ${formatBytes(free)} is free`, {
      hint: "free space there (e.g. 'kairos-spegel gc'), or set kairos-spegel.store.path to a larger persistent filesystem",
    });
  }
}

/** Bytes of the regular files under `dir` (blobs, partial downloads, index.json); 0 when there is no store yet. */
export async function storeSize(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return 0;
    throw err;
  }
  let total = 0;
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await storeSize(p);
    else if (e.isFile()) total += (await lstat(p)).size;
  }
  return total;
}

/** Bytes available on the filesystem that holds (or will hold, once made) `dir`. */
export async function freeSpace(dir: string): Promise<number> {
  const s = await statfs(await nearestExisting(dir));
  return s.bavail * s.bsize;
}
