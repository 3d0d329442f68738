/**
 * Crash-safe file replacement: write a temp file in the same directory, fsync it,
 * rename it over the target, fsync the directory. A reader (or a kill -9 at any
 * moment) sees the old file or the new one, never a partial one. Temp files carry
 * a name no consumer globs for (not *.toml, *.yaml, hosts.toml) and are removed by
 * the next write when their writer is gone.
 */
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from './pid-alive.ts';

const TAG = '.kairos-spegel-tmp-';

let counter = 0;

/** pid (for stale-file cleanup) and a per-process counter; `wx` makes the create exclusive anyway. */
function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}${TAG}${process.pid}-${++counter}`);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes temp files left by writers that were killed before their rename. */
async function removeStaleTemps(file: string): Promise<void> {
  const prefix = `.${path.basename(file)}${TAG}`;
  for (const name of await readdir(path.dirname(file))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && !pidAlive(pid)) await unlink(path.join(path.dirname(file), name)).catch(() => undefined);
  }
}

export async function writeFileAtomic(file: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  const created = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (created !== undefined) await fsyncDir(path.dirname(created));
  await removeStaleTemps(file);
  const tmp = tempName(file);
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(content);
      await fh.chmod(mode); // the umask may have narrowed the create mode
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}
