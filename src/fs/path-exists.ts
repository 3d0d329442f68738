import { access } from 'node:fs/promises';

/** Whether something is at `p` (following symlinks); any error reads as "no". */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
