/**
 * The partial file's hash on the thread pool (the native addon): sha256 of the file's bytes
 * as it grows, after a resume (bytes already there) and after a reset (file truncated), and
 * a file shorter than asked reported instead of hashing what is not there. The same cases on
 * the main thread (where the addon cannot load) are in file-hash.unit.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { nativeAddon } from '../../src/native/addon.ts';
import { fileHash } from '../../src/pull/file-hash.ts';
import { describeFileHashCases } from '../../testbed/file-hash-cases.ts';
import { tempDir } from '../../testbed/tmp.ts';

const addon = nativeAddon(tempDir('ks-addon-'));

describeFileHashCases('on the thread pool', addon);

it('the thread-pool hash reports a file shorter than the bytes it is asked for', async () => {
  const file = path.join(tempDir('ks-hash-'), 'blob.partial');
  writeFileSync(file, randomBytes(100));
  const h = await fileHash(file, 100, addon);
  await expect(h.digest(200)).rejects.toThrow(/the file ends at 100 bytes, not 200/);
  h.close();
});
