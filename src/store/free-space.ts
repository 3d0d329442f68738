/** Free space where the store lives, checked before a download starts. */
import { statfs } from 'node:fs/promises';
import { AgentError } from '../errors.ts';
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
