/**
 * The partial file's hash cases, run on both of its paths: the thread pool (the native
 * addon, file-hash.test.ts) and the main thread (file-hash.unit.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NativeAddon } from '../src/native/addon.ts';
import { fileHash } from '../src/pull/file-hash.ts';
import { tempDir } from './tmp.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function describeFileHashCases(name: string, native: NativeAddon | undefined): void {
  describe(`file hash ${name}`, () => {
    it('hashes what was there (a resume) and what is appended, in steps of any size', async () => {
      const file = path.join(tempDir('ks-hash-'), 'blob.partial');
      const first = randomBytes(3_000_001);
      writeFileSync(file, first);
      const h = await fileHash(file, first.length, native);
      let all = first;
      let size = first.length;
      for (const n of [1, 65_536, 9_000_000, 17, 20_000_000]) {
        const chunk = randomBytes(n);
        appendFileSync(file, chunk);
        size += n;
        all = Buffer.concat([all, chunk]);
        h.advance(size, chunk);
      }
      expect(await h.digest(size)).toBe(sha(all));
      h.close();
    });

    it('starts over after a reset', async () => {
      const file = path.join(tempDir('ks-hash-'), 'blob.partial');
      writeFileSync(file, '');
      const h = await fileHash(file, 0, native);
      const wrong = randomBytes(10_000_000);
      appendFileSync(file, wrong);
      h.advance(wrong.length, wrong);
      await h.reset();
      truncateSync(file, 0);
      const right = randomBytes(1000);
      appendFileSync(file, right);
      h.advance(right.length, right);
      expect(await h.digest(right.length)).toBe(sha(right));
      h.close();
    });
  });
}
