/**
 * Every path the agent reads or writes is a path on the node ("/etc/containerd/certs.d").
 * `--root DIR` moves all of them under DIR, for tests, chroots and image builds; file
 * contents keep naming node paths, because that is what the node will see.
 */
import path from 'node:path';

export class Root {
  readonly dir: string;

  constructor(dir = '/') {
    this.dir = path.resolve(dir);
  }

  /** Where a node path lives on this machine. */
  path(nodePath: string): string {
    if (!path.isAbsolute(nodePath)) throw new Error(`internal: node path must be absolute: ${nodePath}`);
    return this.dir === '/' ? path.normalize(nodePath) : path.join(this.dir, nodePath);
  }

  get isHost(): boolean {
    return this.dir === '/';
  }
}
