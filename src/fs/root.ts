/**
 * Every path the agent reads or writes is a path on the node ("/etc/containerd/certs.d").
 * `--root DIR` moves all of them under DIR, for tests, chroots and image builds; file
 * contents keep naming node paths, because that is what the node will see.
 *
 * Under DIR a path is resolved as a chroot (or openat2's RESOLVE_IN_ROOT) would: a symlink
 * on the way is followed, but an absolute target is taken from DIR and `..` stops at DIR,
 * so a node root whose /etc/containerd links to /etc/containerd (the machine's) still has
 * the agent read and write inside DIR only.
 */
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { AgentError, errnoCode } from '../errors.ts';

const MAX_SYMLINK_HOPS = 40;

export class Root {
  readonly dir: string;

  constructor(dir = '/') {
    this.dir = path.resolve(dir);
  }

  /** Where a node path lives on this machine. */
  path(nodePath: string): string {
    if (!path.isAbsolute(nodePath)) throw new Error(`internal: node path must be absolute: ${nodePath}`);
    return this.dir === '/' ? path.normalize(nodePath) : resolveInRoot(this.dir, nodePath);
  }
}

function resolveInRoot(root: string, nodePath: string): string {
  const resolved: string[] = [];
  const todo = nodePath.split('/');
  let hops = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    let target: string | undefined;
    try {
      target = readlinkSync(path.join(root, ...resolved, c));
    } catch (err) {
      // Not a symlink (EINVAL), not there (yet), or under a non-directory: taken as it is.
      if (!['EINVAL', 'ENOENT', 'ENOTDIR'].includes(errnoCode(err) ?? '')) throw err;
    }
    if (target === undefined) {
      resolved.push(c);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) throw new AgentError('E_ROOT', `${nodePath} under --root ${root}: more than ${MAX_SYMLINK_HOPS} symlinks`);
    if (target.startsWith('/')) resolved.length = 0;
    todo.unshift(...target.split('/'));
  }
  return path.join(root, ...resolved);
}
