/**
 * Staged root filesystems: `<staging>/<manifest hex>/rootfs`, usable only once the
 * marker `staged.json` exists. The marker is written last, after the filesystem was
 * synced, so a crash at any moment leaves either a complete staging or an unmarked one,
 * which is never used and is removed by the next run.
 */
import { digestHex, type Digest } from '../registry/digest.ts';
import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { errnoCode } from '../errors.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { readOwnJson } from '../fs/read-json.ts';
import type { Logger } from '../log/logger.ts';

const MARKER = 'staged.json';

export interface StagedImage {
  /** The stored reference (index.json ref.name). */
  ref: string;
  manifest: string;
  diffIds: string[];
  stagedAt: string;
  /** Where the rootfs is on this machine. */
  rootfs: string;
}

export function stagingDir(base: string, manifestDigest: Digest): string {
  return path.join(base, digestHex(manifestDigest));
}

export async function readMarker(dir: string): Promise<StagedImage | undefined> {
  // The marker is written after the rootfs is synced: without a readable one, nothing is staged.
  const m = (await readOwnJson(path.join(dir, MARKER))) as Omit<StagedImage, 'rootfs'> | undefined;
  return m === undefined ? undefined : { ...m, rootfs: path.join(dir, 'rootfs') };
}

export async function writeMarker(dir: string, m: Omit<StagedImage, 'rootfs'>): Promise<StagedImage> {
  await writeFileAtomic(path.join(dir, MARKER), `${JSON.stringify(m, null, 2)}\n`);
  return { ...m, rootfs: path.join(dir, 'rootfs') };
}

/** Flushes the staging filesystem (syncfs), so the marker never outlives the data. */
export async function syncFilesystem(dir: string): Promise<void> {
  try {
    await promisify(execFile)('sync', ['-f', dir]);
  } catch {
    await promisify(execFile)('sync', []);
  }
}

async function subdirs(base: string): Promise<string[]> {
  try {
    return (await readdir(base, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => path.join(base, d.name));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

export async function listStaged(base: string): Promise<StagedImage[]> {
  const out: StagedImage[] = [];
  for (const dir of await subdirs(base)) {
    const m = await readMarker(dir);
    if (m) out.push(m);
  }
  return out;
}

/** Removes stagings without a marker: left by an unpack that did not finish. */
export async function removeUnmarked(base: string, log: Logger): Promise<void> {
  for (const dir of await subdirs(base)) {
    if ((await readMarker(dir)) === undefined) {
      log.info({ dir }, 'removing an incomplete staging left by an interrupted unpack');
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export async function removeStaging(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
