/**
 * The partial file's hash on the thread pool (the native addon): sha256 of the file's bytes
 * as it grows, after a resume (bytes already there) and after a reset (file truncated), and
 * a file shorter than asked reported instead of hashing what is not there. The same cases on
 * the main thread (where the addon cannot load) are in file-hash.unit.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../../src/native/addon.ts';
import { fileHash } from '../../src/pull/file-hash.ts';
import { tempDir } from '../../testbed/tmp.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const addon = nativeAddon(tempDir('ks-addon-'));

describe.each([['on the thread pool', addon]] as const)('file hash %s', (_name, native) => {
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

it('the thread-pool hash reports a file shorter than the bytes it is asked for', async () => {
  const file = path.join(tempDir('ks-hash-'), 'blob.partial');
  writeFileSync(file, randomBytes(100));
  const h = await fileHash(file, 100, addon);
  await expect(h.digest(200)).rejects.toThrow(/the file ends at 100 bytes, not 200/);
  h.close();
});
