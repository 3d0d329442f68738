// What the build stamps into the binary besides package.json's version (`kairos-spegel
// version`): the commit it was built from and when.
import { execFileSync } from 'node:child_process';

/** HEAD's commit in `dir`, "-dirty" when tracked files differ from it; "unknown" outside a git checkout (a source tarball). */
export function gitCommit(dir) {
  const git = (...args) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let head;
  try {
    head = git('rev-parse', '--verify', 'HEAD');
  } catch {
    return 'unknown';
  }
  // Untracked files do not make a build dirty: the bundle holds only what src/ imports, and that is tracked.
  return git('status', '--porcelain', '--untracked-files=no') === '' ? head : `${head}-dirty`;
}

/**
 * The build time as ISO 8601 UTC to the second: SOURCE_DATE_EPOCH when set
 * (https://reproducible-builds.org/specs/source-date-epoch/), else now.
 */
export function buildDate(env = process.env) {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && !/^\d+$/.test(epoch)) throw new Error(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got "${epoch}"`);
  return new Date(epoch === undefined ? Date.now() : Number(epoch) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
