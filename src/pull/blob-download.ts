/**
 * One blob into the store: streamed to ingest/<hex>.partial and hashed on the way,
 * resumed with Range after an interruption (also by a later run: the partial file is
 * re-hashed first), switched to the next source from the current offset when a source
 * errors or stalls, and committed only when size and sha256 match. Wrong bytes are never
 * committed: the download restarts without the sources that contributed to it.
 */
import { digestFromHex } from '../registry/digest.ts';
import { closeSync, openSync, writeSync } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { AgentError, errnoCode, errorMessage } from '../errors.ts';
import { RegistryError } from '../registry/errors.ts';
import type { Descriptor } from '../registry/manifest.ts';
import { READ_BUFFER } from '../registry/transport/raw-wire.ts';
import { sourceTarget, type Source, type SourceRole } from '../registry/source.ts';
import type { OciStore } from '../store/oci-store.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { Slots } from './slots.ts';
import { walkSources, type WalkContext } from './source-walker.ts';
import type { NativeAddon } from '../native/addon.ts';
import { fileHash, type FileHash } from './file-hash.ts';
import { StallWatch } from './stall-watch.ts';

export interface BlobContext {
  walk: WalkContext;
  store: OciStore;
  repository: string;
  upstreamLimiter?: RateLimiter;
  /** Turns for upstream transfers (pull.upstream_parallel). */
  upstreamSlots?: Slots;
  stall: { bytesPerSec: number; afterMs: number };
  /** Called for every byte received, by role (progress, accounting). */
  onBytes(role: SourceRole, n: number): void;
  /** Called with the bytes of a partial file thrown away (they did not hash right), so progress does not count them. */
  onDiscard?(n: number): void;
  /** Hashes on the thread pool when present; on the main thread otherwise. */
  addon?: NativeAddon;
}

/**
 * Read buffers, reused by the next transfer: long-lived buffers are freed only by a full
 * GC, so allocating one per blob would grow the resident set with the number of blobs.
 */
const idleReadBuffers: Buffer[] = [];

/**
 * Each piece goes to the partial file at once, synchronously, from the read buffer it
 * arrived in: no copy, no queue, and a kill -9 loses nothing the agent had received.
 * Writes land in the page cache; the file is fsynced when the blob is committed.
 */
function appendSync(fd: number, chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off);
}

class Partial {
  offset = 0;
  readonly contributors = new Set<string>();
  /** Bytes an earlier run left: if the blob does not hash right, they are the first suspect. */
  inherited = 0;
  private readonly path: string;
  private fileHash?: FileHash;

  constructor(path: string) {
    this.path = path;
  }

  /** The hash of the file, as it grows. */
  get hash(): FileHash {
    return this.fileHash!;
  }

  /** Picks up what an earlier run left: its bytes are hashed again, not downloaded again. */
  async resume(size: number, addon: NativeAddon | undefined): Promise<void> {
    // The file exists from here on, so that it can be hashed as it grows.
    closeSync(openSync(this.path, 'a', 0o644));
    let have = (await stat(this.path)).size;
    if (have > size) {
      await truncate(this.path, 0);
      have = 0;
    }
    this.offset = have;
    this.inherited = have;
    this.fileHash = await fileHash(this.path, have, addon);
  }

  async reset(): Promise<void> {
    await this.hash.reset();
    await truncate(this.path, 0).catch(() => undefined);
    this.offset = 0;
    this.inherited = 0;
    this.contributors.clear();
  }

  open(): number {
    return openSync(this.path, 'a', 0o644);
  }

  close(): void {
    this.fileHash?.close();
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
  const fd = p.open();
  const readBuffer = idleReadBuffers.pop() ?? Buffer.allocUnsafe(READ_BUFFER);
  const startOffset = p.offset;
  try {
    let skip = 0;
    await s.transport.stream(
      {
        ...sourceTarget(s, ctx.repository, 'blobs', desc.digest),
        method: 'GET',
        what: `${s.origin}: blob ${desc.digest}`,
        ...(p.offset > 0 ? { headers: { range: `bytes=${p.offset}-` } } : {}),
        expect: [200, 206],
        signal: abort.signal,
        readBuffer,
      },
      (h) => {
        if (h.status === 206) {
          const start = contentRangeStart(h.headers['content-range']);
          if (start !== p.offset) throw new RegistryError('E_HTTP', `${s.origin} answered the range ${p.offset}- with ${h.headers['content-range'] ?? 'no Content-Range'}`);
        } else {
          skip = p.offset; // the source ignored Range: drop what we already have
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
            appendSync(fd, chunk);
            p.offset += chunk.length;
            p.hash.advance(p.offset, chunk);
            ctx.onBytes(s.role, chunk.length);
            if (s.role !== 'upstream' || !ctx.upstreamLimiter) return;
            return ctx.upstreamLimiter.take(chunk.length, abort.signal).then((waited) => (waited > 0 ? watch.throttled() : undefined));
          },
        };
      },
    );
    if (p.offset < desc.size) throw new RegistryError('E_NETWORK', `${s.origin} ended the blob ${desc.digest} early`);
  } catch (err) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the stall watch's callback
    if (stalled) throw abort.signal.reason as RegistryError;
    if (ctx.walk.signal?.aborted) throw err;
    if (err instanceof RegistryError && err.code !== 'E_NETWORK') throw err;
    if (errnoCode(err) === 'ENOSPC') {
      throw new AgentError('E_NO_SPACE', `the filesystem of the store is full (writing ${desc.digest} at ${p.offset} of ${desc.size} bytes)`, {
        hint: 'free space, or set kairos-spegel.store.path elsewhere; the next run resumes this download',
      });
    }
    const reason = err instanceof RegistryError ? err.message : `${s.origin}: ${errorMessage(err)}`;
    throw new RegistryError('E_NETWORK', `${reason} (at ${p.offset} of ${desc.size} bytes)`, undefined, { transferred: p.offset - startOffset, cause: err });
  } finally {
    watch.stop();
    ctx.walk.signal?.removeEventListener('abort', onOuterAbort);
    closeSync(fd); // what arrived before an error is a valid prefix as far as we know: it stays
    idleReadBuffers.push(readBuffer);
  }
}

/** Downloads `desc` unless the store has it; resolves when it is committed. */
export async function downloadBlob(ctx: BlobContext, desc: Descriptor): Promise<'present' | 'downloaded'> {
  if (await ctx.store.hasBlob(desc.digest, desc.size)) return 'present';
  const p = new Partial(ctx.store.ingestPath(desc.digest));
  await p.resume(desc.size, ctx.addon);
  const dropped = new Map<string, RegistryError>();
  try {
    await fetchVerified(ctx, desc, p, dropped);
  } finally {
    p.close();
  }
  await ctx.store.commitIngest(desc.digest);
  return 'downloaded';
}

/** Fills the partial file from the sources until its bytes hash to the digest. */
async function fetchVerified(ctx: BlobContext, desc: Descriptor, p: Partial, dropped: Map<string, RegistryError>): Promise<void> {
  await walkSources(
    ctx.walk,
    `blob ${desc.digest}`,
    async (s) => {
      if (!s.host.capabilities.has('pull')) throw new RegistryError('E_NOT_FOUND', `${s.origin} has no pull capability`);
      for (;;) {
        if (p.offset < desc.size) {
          const release = s.role === 'upstream' ? await ctx.upstreamSlots?.acquire(desc.size, ctx.walk.signal) : undefined;
          try {
            await transfer(ctx, s, desc, p);
          } finally {
            release?.();
          }
        }
        const actual = digestFromHex(await p.hash.digest(p.offset));
        if (actual === desc.digest) return;
        if (p.inherited > 0) {
          // An earlier run's partial file (a crash, a bad disk) can hold garbage: it is
          // blamed, not the source, which now sends the whole blob again.
          ctx.walk.log.warn(
            { blob: desc.digest, hashed: actual, earlier_bytes: p.inherited },
            'the partial download an earlier run left does not match the digest; downloading it again from the start',
          );
          ctx.onDiscard?.(p.offset);
          await p.reset();
          continue;
        }
        // Wrong bytes, never committed. When several sources contributed, the earlier ones are
        // suspect and this one gets to deliver the whole blob alone; when it alone sent them,
        // it lied and is dropped.
        const contributors = [...p.contributors];
        const others = contributors.filter((o) => o !== s.origin);
        const blamed = others.length > 0 ? others : contributors;
        for (const origin of blamed) dropped.set(origin, new RegistryError('E_DIGEST', `sent bytes that do not match ${desc.digest}`));
        ctx.onDiscard?.(p.offset);
        await p.reset();
        ctx.walk.log.warn({ blob: desc.digest, hashed: actual, from: contributors.length > 0 ? contributors : 'an interrupted earlier run' }, 'downloaded bytes do not match the digest; discarded');
        if (dropped.has(s.origin)) throw new RegistryError('E_DIGEST', `${desc.digest}: the bytes from ${s.origin} hash to ${actual}; discarded`);
      }
    },
    dropped,
  );
}
