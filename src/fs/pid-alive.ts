import { errnoCode } from '../errors.ts';

/**
 * Whether a process with this pid exists, for files that name their writer (locks, temp
 * files): EPERM means it exists but belongs to someone else, so it counts as alive.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}
