/**
 * The addon's failures carry the errno's name as their code, as Node's fs errors do: the
 * layer applier tells "this filesystem has no xattrs" (EOPNOTSUPP: warn once, go on) from
 * a real failure by that code, never by the message's wording.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../../src/native/addon.ts';
import { tempDir } from '../../testbed/tmp.ts';

describe('native xattrs', () => {
  const addon = nativeAddon(tempDir());
  const codeOf = (p: string) => {
    try {
      addon.setLinkXattr(p, 'user.kairos-spegel', Buffer.from('1'));
      return 'ok';
    } catch (err) {
      return (err as NodeJS.ErrnoException).code;
    }
  };

  it('sets an attribute where the filesystem takes it', () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, '');
    expect(codeOf(file)).toBe('ok');
  });

  it('names the errno: EOPNOTSUPP on procfs, ENOENT for a missing file', () => {
    expect(codeOf('/proc/self/status')).toBe('EOPNOTSUPP');
    expect(codeOf(path.join(tempDir(), 'missing'))).toBe('ENOENT');
  });
});
