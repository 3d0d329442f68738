/**
 * One blob into the store: streamed to ingest/<hex>.partial and hashed on the way,
 * resumed with Range after an interruption (also by a later run: the partial file is
 * re-hashed first), switched to the next source from the current offset when a source
 * errors or stalls, and committed only when size and sha256 match. Wrong bytes are never
 * committed: the download restarts without the sources that contributed to it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { AgentError, errnoCode, errorMessage } from '../errors.ts';
import { RegistryError } from '../registry/errors.ts';
import type { Descriptor } from '../registry/manifest.ts';
import { blobGet, READ_BUFFER } from '../registry/blob-get.ts';
import { baseHeaders, errorForStatus, sourceUrl, type Source, type SourceRole } from '../registry/source.ts';
import type { OciStore } from '../store/oci-store.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { walkSources, type WalkContext } from './source-walker.ts';
import { StallWatch } from './stall-watch.ts';

export interface BlobContext {
  walk: WalkContext;
  store: OciStore;
  repository: string;
  upstreamLimiter?: RateLimiter;
  stall: { bytesPerSec: number; afterMs: number };
  /** Called for every byte received, by role (progress, accounting). */
  onBytes(role: SourceRole, n: number): void;
}

/** Two of these are filled before they reach the disk: a kill -9 loses at most 1 MiB. */
const WRITE_BUFFER = 512 * 1024;

/**
 * The buffers one transfer works with, reused by the next transfer: long-lived buffers
 * are freed only by a full GC, so allocating them per blob would grow the resident set
 * with the number of blobs.
 */
interface TransferBuffers {
  read: Buffer;
  write: [Buffer, Buffer];
}

const idleBuffers: TransferBuffers[] = [];

function takeBuffers(): TransferBuffers {
  return idleBuffers.pop() ?? { read: Buffer.allocUnsafe(READ_BUFFER), write: [Buffer.allocUnsafe(WRITE_BUFFER), Buffer.allocUnsafe(WRITE_BUFFER)] };
}

/**
 * Appends to the partial file through two reused 1 MiB buffers: one fills while the
 * other is written, so the download waits for the disk only when both are busy. A
 * buffer is refilled only after its write completed.
 */
class BufferedAppender {
  private readonly fh: FileHandle;
  private readonly bufs: [Buffer, Buffer];
  /** Completion of the last write of each buffer. */
  private readonly written: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  /** Writes are chained: the file is opened for appending, so their order is the file's. */
  private tail: Promise<void> = Promise.resolve();
  private current = 0;
  private used = 0;

  constructor(fh: FileHandle, bufs: [Buffer, Buffer]) {
    this.fh = fh;
    this.bufs = bufs;
  }

  /**
   * Copies `chunk`. Returns a promise when the other buffer is still being written; the
   * rest of the chunk is copied once it is free, so `chunk` must stay valid until then
   * (blob-get does not read into its buffer again before the promise settles).
   */
  append(chunk: Buffer): Promise<void> | undefined {
    const n = chunk.copy(this.bufs[this.current]!, this.used);
    this.used += n;
    if (this.used < WRITE_BUFFER) return undefined;
    this.writeCurrent();
    return this.written[this.current]!.then(() => (n < chunk.length ? this.append(chunk.subarray(n)) : undefined));
  }

  private writeCurrent(): void {
    const i = this.current;
    const data = this.bufs[i]!.subarray(0, this.used);
    this.tail = this.tail.then(() => this.fh.write(data).then(() => undefined));
    this.written[i] = this.tail;
    this.current ^= 1;
    this.used = 0;
  }

  /** Writes what is buffered and waits for every write. */
  async flush(): Promise<void> {
    await this.written[this.current];
    if (this.used > 0) this.writeCurrent();
    await this.tail;
  }
}

class Partial {
  offset = 0;
  hash: Hash = createHash('sha256');
  readonly contributors = new Set<string>();
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Picks up what an earlier run left: its bytes are hashed again, not downloaded again. */
  async resume(size: number): Promise<void> {
    let have = 0;
    try {
      have = (await stat(this.path)).size;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (have > size) {
      await truncate(this.path, 0);
      have = 0;
    }
    if (have > 0) {
      for await (const chunk of createReadStream(this.path, { end: have - 1, highWaterMark: 1 << 20 })) this.hash.update(chunk as Buffer);
    }
    this.offset = have;
  }

  async reset(): Promise<void> {
    await truncate(this.path, 0).catch(() => undefined);
    this.offset = 0;
    this.hash = createHash('sha256');
    this.contributors.clear();
  }

  open(): Promise<FileHandle> {
    return open(this.path, 'a', 0o644);
  }
}

function contentRangeStart(v: string | undefined): number | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(v ?? '');
  return m ? Number(m[1]) : undefined;
}

async function transfer(ctx: BlobContext, s: Source, desc: Descriptor, p: Partial): Promise<void> {
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(ctx.walk.signal?.reason);
  ctx.walk.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let stalled = false;
  const watch = new StallWatch(ctx.stall.bytesPerSec, ctx.stall.afterMs, () => {
    stalled = true;
    abort.abort(new RegistryError('E_STALLED', `${s.origin} sent less than ${ctx.stall.bytesPerSec} bytes/s for ${ctx.stall.afterMs} ms`));
  });
  const fh = await p.open();
  const buffers = takeBuffers();
  const out = new BufferedAppender(fh, buffers.write);
  const url = new URL(sourceUrl(s, ctx.repository, 'blobs', desc.digest));
  const scope = `repository:${ctx.repository}:pull`;
  try {
    for (let attempt = 0; ; attempt++) {
      const headers = baseHeaders(s);
      if (p.offset > 0) headers['range'] = `bytes=${p.offset}-`;
      const auth = s.authorizer?.header(scope);
      if (auth) headers['authorization'] = auth;
      let skip = 0;
      const head = await blobGet(url, { headers, readBuffer: buffers.read, connectTimeoutMs: s.connectTimeoutMs, tls: s.tls, signal: abort.signal }, (h) => {
        if (h.status === 206) {
          const start = contentRangeStart(h.headers['content-range']);
          if (start !== p.offset) throw new RegistryError('E_HTTP', `${s.origin} answered the range ${p.offset}- with ${h.headers['content-range'] ?? 'no Content-Range'}`);
        } else if (h.status === 200) {
          skip = p.offset; // the source ignored Range: drop what we already have
        } else {
          return undefined;
        }
        const expected = h.status === 200 ? desc.size : desc.size - p.offset;
        const length = Number(h.headers['content-length'] ?? NaN);
        if (!Number.isNaN(length) && length !== expected) throw new RegistryError('E_SIZE', `${s.origin} announced ${length} bytes for ${desc.digest}, expected ${expected}`);
        p.contributors.add(s.origin);
        return {
          data(raw) {
            let chunk = raw;
            if (skip > 0) {
              const drop = Math.min(skip, chunk.length);
              skip -= drop;
              chunk = chunk.subarray(drop);
              if (chunk.length === 0) return;
            }
            if (p.offset + chunk.length > desc.size) throw new RegistryError('E_SIZE', `${s.origin} sent more than the ${desc.size} bytes of ${desc.digest}`);
            watch.data(chunk.length);
            p.hash.update(chunk);
            p.offset += chunk.length;
            ctx.onBytes(s.role, chunk.length);
            const written = out.append(chunk);
            const throttled = s.role === 'upstream' && ctx.upstreamLimiter ? ctx.upstreamLimiter.take(chunk.length, abort.signal) : undefined;
            if (!written && !throttled) return;
            return Promise.all([written, throttled?.then((waited) => (waited > 0 ? watch.throttled() : undefined))]).then(() => undefined);
          },
        };
      });
      if (head.status === 401 && s.authorizer && attempt === 0) {
        if (auth) s.authorizer.forget(scope);
        await s.authorizer.authenticate(head.headers['www-authenticate'], scope);
        continue;
      }
      if (head.status === 401 && s.authorizer) throw s.authorizer.refused(scope);
      if (head.status !== 200 && head.status !== 206) throw errorForStatus(head.status, head.headers, `${s.origin}: blob ${desc.digest}`);
      break;
    }
    if (p.offset < desc.size) throw new RegistryError('E_NETWORK', `${s.origin} ended the blob ${desc.digest} at ${p.offset} of ${desc.size} bytes`);
  } catch (err) {
    if (stalled) throw abort.signal.reason as RegistryError;
    if (ctx.walk.signal?.aborted) throw err;
    if (err instanceof RegistryError) throw err;
    if (errnoCode(err) === 'ENOSPC') {
      throw new AgentError('E_NO_SPACE', `the filesystem of the store is full (writing ${desc.digest} at ${p.offset} of ${desc.size} bytes)`, {
        hint: "free space, or set kairos-spegel.store.path elsewhere; the next run resumes this download",
      });
    }
    throw new RegistryError('E_NETWORK', `${s.origin}: ${errorMessage(err)} (at ${p.offset} of ${desc.size} bytes)`, undefined, { cause: err });
  } finally {
    watch.stop();
    ctx.walk.signal?.removeEventListener('abort', onOuterAbort);
    try {
      await out.flush(); // what arrived before an error is a valid prefix as far as we know; keep it
    } finally {
      await fh.close();
      idleBuffers.push(buffers);
    }
  }
}

/** Downloads `desc` unless the store has it; resolves when it is committed. */
export async function downloadBlob(ctx: BlobContext, desc: Descriptor): Promise<'present' | 'downloaded'> {
  if (await ctx.store.hasBlob(desc.digest, desc.size)) return 'present';
  const p = new Partial(ctx.store.ingestPath(desc.digest));
  await p.resume(desc.size);
  const dropped = new Map<string, string>();
  await walkSources(
    ctx.walk,
    `blob ${desc.digest}`,
    async (s) => {
      if (!s.host.capabilities.has('pull')) throw new RegistryError('E_NOT_FOUND', `${s.origin} has no pull capability`);
      for (;;) {
        if (p.offset < desc.size) await transfer(ctx, s, desc, p);
        const actual = `sha256:${p.hash.digest('hex')}`;
        if (actual === desc.digest) return;
        // Wrong bytes, never committed. When several sources contributed, the earlier ones are
        // suspect and this one gets to deliver the whole blob alone; when it alone sent them,
        // it lied and is dropped.
        const contributors = [...p.contributors];
        const others = contributors.filter((o) => o !== s.origin);
        const blamed = others.length > 0 ? others : contributors;
        for (const origin of blamed) dropped.set(origin, `sent bytes that do not match ${desc.digest}`);
        await p.reset();
        ctx.walk.log.warn({ blob: desc.digest, hashed: actual, from: contributors.length > 0 ? contributors : 'an interrupted earlier run' }, 'downloaded bytes do not match the digest; discarded');
        if (dropped.has(s.origin)) throw new RegistryError('E_DIGEST', `${desc.digest}: the bytes from ${s.origin} hash to ${actual}; discarded`);
      }
    },
    dropped,
  );
  await ctx.store.commitIngest(desc.digest);
  return 'downloaded';
}
