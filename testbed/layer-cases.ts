/**
 * Runs the peers' hostile-archive suites (containerd, moby, umoci) as tables against the
 * agent's unpack: each case is an image of one optional lower layer and the layer under
 * test, unpacked into a fresh staging directory. An applied case is checked, and nothing
 * may be left beside its rootfs (an upstream test's "victim" next to the root would land
 * there); a refused case must match its message and leave the staging empty.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log/logger.ts';
import { listImages } from '../src/store/images.ts';
import { OciStore } from '../src/store/oci-store.ts';
import { TransferStats } from '../src/store/transfer-stats.ts';
import { unpackImage } from '../src/unpack/unpack-image.ts';
import { rawTar, writeImage, type RawEntry } from './oci-layout.ts';
import { tempDir } from './tmp.ts';

/** A check of the unpacked rootfs. */
export type Check = (rootfs: string) => void;

const at = (r: string, p: string) => path.join(r, p);
export const fileValue =
  (f: string, v: string): Check =>
  (r) =>
    expect(readFileSync(at(r, f), 'utf8'), f).toBe(v);
export const exists =
  (f: string): Check =>
  (r) =>
    expect(() => lstatSync(at(r, f)), `${f} should exist`).not.toThrow();
export const notExists =
  (f: string): Check =>
  (r) =>
    expect(() => lstatSync(at(r, f)), `${f} should not exist`).toThrow();
export const isFile =
  (f: string): Check =>
  (r) =>
    expect(lstatSync(at(r, f)).isFile(), `${f} should be a file`).toBe(true);
export const isDir =
  (f: string): Check =>
  (r) =>
    expect(lstatSync(at(r, f)).isDirectory(), `${f} should be a directory`).toBe(true);
export const symlinkTo =
  (f: string, target: string): Check =>
  (r) => {
    expect(lstatSync(at(r, f)).isSymbolicLink(), `${f} should be a symlink`).toBe(true);
    expect(readlinkSync(at(r, f))).toBe(target);
  };
export const sameInode =
  (a: string, b: string): Check =>
  (r) =>
    expect(lstatSync(at(r, a)).ino, `${a} and ${b}`).toBe(lstatSync(at(r, b)).ino);
export const notSameInode =
  (a: string, b: string): Check =>
  (r) =>
    expect(lstatSync(at(r, a)).ino, `${a} and ${b}`).not.toBe(lstatSync(at(r, b)).ino);
export const perm =
  (f: string, mode: number): Check =>
  (r) =>
    expect((lstatSync(at(r, f)).mode & 0o7777).toString(8), f).toBe(mode.toString(8));
export const all =
  (...checks: Check[]): Check =>
  (r) =>
    checks.forEach((c) => c(r));

export interface LayerCase {
  /** As upstream names the test (and subtest). */
  name: string;
  /** The file system before the layer, as a layer of its own. */
  lower?: RawEntry[];
  /** The layer under test, as tar bytes. */
  tar: Buffer;
  check?: Check;
  rejected?: RegExp;
  /** The process umask while the image is unpacked. */
  umask?: number;
  /** How the agent departs from upstream here, and why. */
  differs?: string;
}

export function describeLayerCases(title: string, cases: LayerCase[]): void {
  const log = createLogger({ level: 'silent', pretty: false });
  describe(title, () => {
    const work = tempDir('ks-layer-cases-');

    it.each(cases)('$name', async (c) => {
      const slug = c.name.replace(/\W+/g, '-');
      const layout = path.join(work, `layout-${slug}`);
      writeImage(layout, 'x', [...(c.lower ? [{ tar: rawTar(c.lower), compression: 'none' as const }] : []), { tar: c.tar, compression: 'none' }]);
      const store = await OciStore.open(layout);
      const [image] = await listImages(store, await TransferStats.load(layout));
      const stagingBase = path.join(work, `staging-${slug}`);
      const umask = c.umask === undefined ? undefined : process.umask(c.umask);
      try {
        const run = unpackImage({ store, image: image!, stagingBase, libDir: path.join(work, 'lib'), log });
        if (c.rejected) {
          await expect(run).rejects.toThrow(c.rejected);
          expect(readdirSync(stagingBase)).toEqual([]);
        } else {
          const { rootfs } = await run;
          c.check!(rootfs);
          expect(readdirSync(path.dirname(rootfs)).sort(), 'nothing beside the rootfs').toEqual(['rootfs', 'staged.json']);
        }
      } finally {
        if (umask !== undefined) process.umask(umask);
      }
    });
  });
}
