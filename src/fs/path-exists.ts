import { access, realpath } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.ts';

/** Whether something is at `p` (following symlinks); any error reads as "no". */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The deepest existing directory on the way to `p` (`p` itself when it exists), resolved: a
 * path not made yet (a store before its first pull) lives on that directory's file system.
 */
export async function nearestExisting(p: string): Promise<string> {
  for (let at = path.resolve(p); ; at = path.dirname(at)) {
    try {
      return await realpath(at);
    } catch (err) {
      const missing = errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR';
      if (!missing || at === path.dirname(at)) throw err;
    }
  }
}
