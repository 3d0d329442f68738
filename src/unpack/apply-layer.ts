/**
 * Applies one layer's entries to a rootfs, per the OCI image-spec layer rules:
 * - entries replace what lower layers had, except a directory over a directory, which
 *   keeps its content and takes the new metadata;
 * - `.wh.<name>` removes <name> of lower layers; `.wh..wh..opq` leaves its directory with
 *   this layer's entries only, at any depth (as containerd and umoci apply it); neither
 *   touches what this same layer wrote, nor the parents it implies without listing them;
 * - hard links must name an existing non-directory inside the rootfs;
 * - owners, modes (setuid included), extended attributes and mtimes are applied in the
 *   order that keeps them (chown clears setuid and file capabilities, so it goes first);
 *   directory mtimes are set after the last layer, when nothing writes into them anymore,
 *   and only through paths that are still directories (a later entry may have put a symlink
 *   to anywhere in their place).
 * Device nodes and FIFOs are skipped: an OS image's /dev is devtmpfs at runtime and
 * `kairos-agent upgrade` does not copy /dev. Writes are synchronous: one layer at a
 * time, and the kernel's page cache makes them cheap.
 */
import {
  chmodSync,
  chownSync,
  close,
  closeSync,
  fsync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { errnoCode, errorMessage } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { UnpackError } from './errors.ts';
import { entryComponents, type RootFs } from './rootfs.ts';
import type { BodyHandler, TarEntry } from './tar-reader.ts';
import type { NativeAddon } from '../native/addon.ts';

const WHITEOUT = '.wh.';
/** Files at least this large are fsynced in the background as soon as they are written. */
const BACKGROUND_SYNC_BYTES = 1 << 20;
const OPAQUE = '.wh..wh..opq';

export interface ApplyStats {
  entries: number;
  skippedDevices: number;
  xattrsUnsupported: number;
}

/** State across the layers of one image. */
export class LayerApplier {
  private readonly root: RootFs;
  private readonly xattr: Pick<NativeAddon, 'setLinkXattr'>;
  private readonly log: Logger;
  private readonly asRoot = process.getuid?.() === 0;
  /** Directories and their mtimes, set once every layer is in. */
  private readonly dirTimes = new Map<string, number>();
  /** Paths written by the layer being applied: its own whiteouts must not remove them. */
  private written = new Set<string>();
  /** Their parent directories, listed or implied: an opaque marker keeps them too. */
  private holdsWritten = new Set<string>();
  readonly stats: ApplyStats = { entries: 0, skippedDevices: 0, xattrsUnsupported: 0 };
  /** The file being written, if an archive breaks off inside it. */
  private openFd: number | undefined;
  private readonly syncing: Promise<void>[] = [];

  constructor(root: RootFs, xattr: Pick<NativeAddon, 'setLinkXattr'>, log: Logger) {
    this.root = root;
    this.xattr = xattr;
    this.log = log;
  }

  startLayer(): void {
    this.written = new Set();
    this.holdsWritten = new Set();
  }

  private markWritten(real: string): void {
    this.written.add(real);
    for (let d = path.dirname(real); d.length > this.root.dir.length && !this.holdsWritten.has(d); d = path.dirname(d)) this.holdsWritten.add(d);
  }

  /**
   * An opaque directory: everything below it that this layer did not write goes. Only real
   * directories are descended into (readdir's types do not follow symlinks): a directory
   * this layer replaced by a symlink must not lead the purge out of the rootfs.
   */
  private purge(dir: string): void {
    for (const child of readdirSync(dir, { withFileTypes: true })) {
      const real = path.join(dir, child.name);
      const ours = this.written.has(real) || this.holdsWritten.has(real);
      if (ours && child.isDirectory()) this.purge(real);
      else if (!ours) this.remove(real);
    }
  }

  private remove(real: string): void {
    rmSync(real, { recursive: true, force: true });
    this.root.invalidate();
  }

  private whiteout(parent: string, name: string, what: string): void {
    if (name === OPAQUE) {
      this.purge(parent);
      return;
    }
    const target = name.slice(WHITEOUT.length);
    if (target === '' || target === '.' || target === '..') throw new UnpackError(`${what}: whiteout of ${JSON.stringify(target)}`);
    const real = path.join(parent, target);
    if (!this.written.has(real)) this.remove(real);
  }

  /** Applies one entry; returns the handler for a regular file's data. */
  entry(e: TarEntry): BodyHandler | undefined {
    this.stats.entries++;
    const what = `entry ${JSON.stringify(e.path)}`;
    const comps = entryComponents(e.path, what);
    if (comps.length === 0) {
      // The layer's "./": the rootfs directory itself.
      if (e.type !== 'dir') throw new UnpackError(`${what}: the root of a layer must be a directory`);
      this.metadata(this.root.dir, e, what);
      return undefined;
    }
    const name = comps[comps.length - 1]!;
    const isWhiteout = name.startsWith(WHITEOUT);
    const parent = this.root.resolveDir(comps.slice(0, -1), !isWhiteout, what);
    if (isWhiteout) {
      if (parent !== undefined) this.whiteout(parent, name, what);
      return undefined;
    }
    const real = path.join(parent!, name);
    if (e.type === 'char' || e.type === 'block' || e.type === 'fifo') {
      this.stats.skippedDevices++;
      this.log.debug({ entry: e.path, type: e.type }, 'skipping a device node or FIFO');
      return undefined;
    }

    let existing;
    try {
      existing = lstatSync(real);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (existing && !(e.type === 'dir' && existing.isDirectory())) {
      if (existing.isDirectory()) this.remove(real);
      else {
        unlinkSync(real);
        if (existing.isSymbolicLink()) this.root.invalidate();
      }
    }
    this.markWritten(real);

    switch (e.type) {
      case 'dir':
        if (!existing?.isDirectory()) mkdirSync(real, { mode: 0o700 });
        this.metadata(real, e, what);
        this.dirTimes.set(real, e.mtime);
        return undefined;
      case 'symlink':
        symlinkSync(e.linkpath!, real);
        this.metadata(real, e, what);
        return undefined;
      case 'hardlink': {
        const target = this.hardlinkTarget(e, what);
        linkSync(target, real);
        return undefined;
      }
      case 'file': {
        const fd = openSync(real, 'wx', 0o600);
        this.openFd = fd;
        let left = e.size;
        const finish = () => {
          this.openFd = undefined;
          this.metadata(real, e, what);
          if (e.size < BACKGROUND_SYNC_BYTES) closeSync(fd);
          else this.syncInBackground(fd);
        };
        if (left === 0) {
          finish();
          return undefined;
        }
        return (chunk) => {
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off);
          left -= chunk.length;
          if (left === 0) finish();
        };
      }
    }
  }

  private hardlinkTarget(e: TarEntry, what: string): string {
    // Link targets are archive paths; a leading "/" means the archive's root, never the host's.
    const comps = entryComponents(e.linkpath!, `${what} (link target)`);
    if (comps.length === 0) throw new UnpackError(`${what}: hard link to the root directory`);
    const parent = this.root.resolveDir(comps.slice(0, -1), false, `${what} (link target)`);
    const target = parent === undefined ? undefined : path.join(parent, comps[comps.length - 1]!);
    let st;
    try {
      st = target === undefined ? undefined : lstatSync(target);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (!st || !target) throw new UnpackError(`${what}: hard link target ${JSON.stringify(e.linkpath)} does not exist in the image`);
    if (st.isDirectory()) throw new UnpackError(`${what}: hard link to a directory (${JSON.stringify(e.linkpath)})`);
    return target;
  }

  private metadata(real: string, e: TarEntry, what: string): void {
    const symlink = e.type === 'symlink';
    if (this.asRoot) {
      if (symlink) lchownSync(real, e.uid, e.gid);
      else chownSync(real, e.uid, e.gid);
    }
    if (!symlink) chmodSync(real, e.mode);
    for (const [name, value] of e.xattrs) {
      try {
        this.xattr.setLinkXattr(real, name, value);
      } catch (err) {
        const msg = errorMessage(err);
        // A filesystem without xattr support (or this namespace) loses them, said once per run.
        if (errnoCode(err) === 'EOPNOTSUPP') {
          if (this.stats.xattrsUnsupported++ === 0) this.log.warn({ entry: e.path, xattr: name }, `the staging filesystem does not support this extended attribute: ${msg}`);
          continue;
        }
        throw new UnpackError(`${what}: cannot set extended attribute ${name}: ${msg}`);
      }
    }
    if (symlink) lutimesSync(real, e.mtime, e.mtime);
    else if (e.type !== 'dir') utimesSync(real, e.mtime, e.mtime);
  }

  /**
   * Large files are flushed to disk while the next ones are unpacked, so the final sync
   * of the staging (before its marker) does not have to write the whole image at once.
   */
  private syncInBackground(fd: number): void {
    this.syncing.push(
      new Promise<void>((resolve, reject) => {
        fsync(fd, (err) => {
          close(fd, () => (err ? reject(err) : resolve()));
        });
      }),
    );
  }

  /** Waits for the background flushes. */
  async drain(): Promise<void> {
    const pending = this.syncing.splice(0);
    await Promise.all(pending);
  }

  /** Releases what an interrupted layer left open. */
  close(): void {
    if (this.openFd !== undefined) closeSync(this.openFd);
    this.openFd = undefined;
  }

  /** Directory mtimes, deepest first, once all layers are applied. */
  finish(): void {
    const dirs = [...this.dirTimes].sort((a, b) => b[0].length - a[0].length);
    const isDir = new Map<string, boolean>([[this.root.dir, true]]);
    // Each component from the rootfs down, without following symlinks: a directory replaced
    // by a symlink (to a host directory, say) must not lead the mtime out of the rootfs.
    const stillDir = (p: string): boolean => {
      let known = isDir.get(p);
      if (known === undefined) {
        let st;
        try {
          st = lstatSync(p);
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err; // removed by a later layer
        }
        known = st?.isDirectory() === true && stillDir(path.dirname(p));
        isDir.set(p, known);
      }
      return known;
    };
    for (const [dir, t] of dirs) if (stillDir(dir)) lutimesSync(dir, t, t);
  }
}
