/**
 * Paths inside the rootfs being built, resolved the way a chroot would: a symlink met in
 * a parent path is followed, but an absolute target is taken from the rootfs' root and
 * `..` never climbs above it (like containerd's fs.RootPath / filepath-securejoin). So
 * `lib -> usr/lib` then `lib/x` writes usr/lib/x, and `evil -> /` then `evil/etc/x`
 * writes <rootfs>/etc/x: nothing ever lands outside the rootfs.
 */
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.ts';
import { UnpackError } from './errors.ts';

const MAX_SYMLINK_HOPS = 40;
const MAX_COMPONENT_BYTES = 255;

/**
 * An archive path as components: "." ignored, and a leading "/" meaning the rootfs' root,
 * as containerd and umoci read it (umoci's own layers name their root "/"). ".." is
 * refused: no layer needs it, and lexical tricks with it are how escapes start.
 */
export function entryComponents(p: string, what: string): string[] {
  if (p.includes('\0')) throw new UnpackError(`${what}: path contains a NUL byte`);
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new UnpackError(`${what}: path ${JSON.stringify(p)} climbs out with ".."`);
    if (Buffer.byteLength(c) > MAX_COMPONENT_BYTES) throw new UnpackError(`${what}: a name in ${JSON.stringify(p.slice(0, 60))}... is longer than ${MAX_COMPONENT_BYTES} bytes`);
    out.push(c);
  }
  return out;
}

export class RootFs {
  readonly dir: string;
  /** Resolved parent directories (key: components joined by "/"). */
  private readonly parents = new Map<string, string>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  real(components: readonly string[]): string {
    return components.length === 0 ? this.dir : path.join(this.dir, ...components);
  }

  /** Forget cached resolutions: a directory or symlink was replaced or removed. */
  invalidate(): void {
    this.parents.clear();
  }

  /**
   * The real path of the file `components` names, its own symlinks followed inside the
   * rootfs too; undefined when it does not exist.
   */
  resolveFile(components: readonly string[], what: string): string | undefined {
    let comps = [...components];
    for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
      if (comps.length === 0) return this.dir;
      const parent = this.resolveDir(comps.slice(0, -1), false, what);
      if (parent === undefined) return undefined;
      const real = path.join(parent, comps[comps.length - 1]!);
      let st;
      try {
        st = lstatSync(real);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw err;
      }
      if (!st.isSymbolicLink()) return real;
      const target = readlinkSync(real);
      const from = path.relative(this.dir, parent).split(path.sep).filter(Boolean);
      comps = target.startsWith('/') ? target.split('/') : [...from, ...target.split('/')];
      comps = comps.filter((c) => c !== '' && c !== '.').reduce<string[]>((acc, c) => (c === '..' ? acc.slice(0, -1) : [...acc, c]), []);
    }
    throw new UnpackError(`${what}: more than ${MAX_SYMLINK_HOPS} symlinks`);
  }

  /**
   * The real path of the directory `components` names, following symlinks inside the
   * rootfs. Missing directories are created (0755) when `create`, else undefined.
   */
  resolveDir(components: readonly string[], create: boolean, what: string): string | undefined {
    const key = components.join('/');
    const cached = this.parents.get(key);
    if (cached !== undefined) return cached;
    const resolved: string[] = [];
    /** How many of the last resolved components do not exist (a later `..` may still step back over them, as in containerd's fs.RootPath). */
    let missing = 0;
    const todo = [...components];
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        resolved.pop(); // clamped at the root
        if (missing > 0) missing--;
        continue;
      }
      const candidate = this.real([...resolved, c]);
      let st;
      try {
        st = missing > 0 ? undefined : lstatSync(candidate);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
      if (st === undefined) {
        if (create) {
          mkdirSync(candidate, { mode: 0o755 });
        } else missing++;
        resolved.push(c);
        continue;
      }
      if (st.isDirectory()) {
        resolved.push(c);
      } else if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) throw new UnpackError(`${what}: more than ${MAX_SYMLINK_HOPS} symlinks while resolving ${JSON.stringify(components.join('/'))}`);
        const target = readlinkSync(candidate);
        if (target.startsWith('/')) resolved.length = 0;
        todo.unshift(...target.split('/'));
      } else {
        throw new UnpackError(`${what}: ${JSON.stringify([...resolved, c].join('/'))} is not a directory`);
      }
    }
    if (missing > 0) return undefined;
    const real = this.real(resolved);
    this.parents.set(key, real);
    return real;
  }
}
