/**
 * SHA-256 of a download's partial file as it grows. With the native addon, the bytes are
 * read back from the page cache and hashed on libuv's thread pool, so hashing runs on
 * another core than the one receiving and writing them: on the main thread it was the
 * largest share of a pull (1 GiB from a loopback registry: 1.45 s, 0.85 s without
 * hashing). Worker threads are not an option: they abort inside the single executable
 * (its startup snapshot). Hashing the file also means the digest is that of the bytes that
 * will be committed. Where the addon cannot be loaded (a noexec filesystem), the bytes are
 * hashed on the main thread as they arrive.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { AgentError, errorMessage } from '../errors.ts';
import type { NativeAddon, Sha256Handle } from '../native/addon.ts';

export interface FileHash {
  /** The file holds `upto` bytes now; `chunk` are the ones just written. */
  advance(upto: number, chunk: Buffer): void;
  /** The hex SHA-256 of the file's first `size` bytes. */
  digest(size: number): Promise<string>;
  /** Back to zero bytes; resolves once nothing reads the file any more (then it may be truncated). */
  reset(): Promise<void>;
  close(): void;
}

/** Hashing is queued in steps, not per network read. */
const STEP = 8 << 20;

class ThreadPoolHash implements FileHash {
  private readonly addon: NativeAddon;
  private readonly path: string;
  private readonly fd: number;
  private handle: Sha256Handle;
  private queued = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(addon: NativeAddon, path: string, have: number) {
    this.addon = addon;
    this.path = path;
    this.fd = openSync(path, 'r');
    this.handle = addon.sha256New();
    this.queue(have);
  }

  private queue(upto: number): void {
    if (upto <= this.queued) return;
    const [from, handle] = [this.queued, this.handle];
    this.chain = this.chain.then(() => this.addon.sha256File(handle, this.fd, from, upto));
    // Failures surface in digest(); until then the chain must not count as unhandled.
    this.chain.catch(() => undefined);
    this.queued = upto;
  }

  advance(upto: number): void {
    if (upto - this.queued >= STEP) this.queue(upto);
  }

  async digest(size: number): Promise<string> {
    this.queue(size);
    try {
      await this.chain;
    } catch (err) {
      throw new AgentError('E_HASH', `cannot hash ${this.path}: ${errorMessage(err)}`, { hint: 'something else changed the partial download; run prepull again', cause: err });
    }
    return this.addon.sha256Hex(this.handle);
  }

  async reset(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.chain = Promise.resolve();
    this.handle = this.addon.sha256New();
    this.queued = 0;
  }

  close(): void {
    void this.chain.catch(() => undefined).then(() => closeSync(this.fd));
  }
}

class MainThreadHash implements FileHash {
  private hash: Hash = createHash('sha256');
  private readonly ready: Promise<void>;

  constructor(path: string, have: number) {
    this.ready = have > 0 ? this.hashFile(path, have) : Promise.resolve();
  }

  private async hashFile(path: string, have: number): Promise<void> {
    for await (const chunk of createReadStream(path, { end: have - 1, highWaterMark: 1 << 20 })) this.hash.update(chunk as Buffer);
  }

  advance(_upto: number, chunk: Buffer): void {
    this.hash.update(chunk);
  }

  async digest(): Promise<string> {
    await this.ready;
    return this.hash.copy().digest('hex');
  }

  async reset(): Promise<void> {
    await this.ready.catch(() => undefined);
    this.hash = createHash('sha256');
  }

  close(): void {}
}

/**
 * Hashes the file at `path`, whose first `have` bytes are already there (a resumed
 * download); `addon` undefined: on the main thread.
 */
export async function fileHash(path: string, have: number, addon: NativeAddon | undefined): Promise<FileHash> {
  if (addon) return new ThreadPoolHash(addon, path, have);
  const h = new MainThreadHash(path, have);
  await h.digest(); // the resumed bytes are hashed before any new one
  return h;
}
