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
import { errnoCode, errorMessage } from '../errors.ts';
import { RegistryError } from '../registry/errors.ts';
import type { Descriptor } from '../registry/manifest.ts';
import { send, statusError, type Source, type SourceRole } from '../registry/source.ts';
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

/** Written to disk in pieces of at most this size: a crash loses no more. */
const FLUSH_BYTES = 1024 * 1024;

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

function contentRangeStart(v: string | string[] | undefined): number | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec((Array.isArray(v) ? v[0] : v) ?? '');
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
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await fh.write(data);
  };
  try {
    const res = await send(s, ctx.repository, 'blobs', desc.digest, {
      method: 'GET',
      headers: p.offset > 0 ? { range: `bytes=${p.offset}-` } : {},
      signal: abort.signal,
    });
    let skip = 0;
    if (res.statusCode === 206) {
      const start = contentRangeStart(res.headers['content-range']);
      if (start !== p.offset) {
        await res.body.dump();
        throw new RegistryError('E_HTTP', `${s.origin} answered the range ${p.offset}- with ${String(res.headers['content-range'])}`);
      }
    } else if (res.statusCode === 200) {
      skip = p.offset; // the source ignored Range: drop what we already have
    } else {
      throw await statusError(res, `${s.origin}: blob ${desc.digest}`);
    }
    const expected = res.statusCode === 200 ? desc.size : desc.size - p.offset;
    const length = Number(res.headers['content-length'] ?? NaN);
    if (!Number.isNaN(length) && length !== expected) {
      await res.body.dump();
      throw new RegistryError('E_SIZE', `${s.origin} announced ${length} bytes for ${desc.digest}, expected ${expected}`);
    }
    p.contributors.add(s.origin);
    for await (const raw of res.body) {
      let chunk = raw as Buffer;
      if (skip > 0) {
        const drop = Math.min(skip, chunk.length);
        skip -= drop;
        chunk = chunk.subarray(drop);
        if (chunk.length === 0) continue;
      }
      if (p.offset + chunk.length > desc.size) throw new RegistryError('E_SIZE', `${s.origin} sent more than the ${desc.size} bytes of ${desc.digest}`);
      watch.data(chunk.length);
      if (s.role === 'upstream' && ctx.upstreamLimiter) {
        if ((await ctx.upstreamLimiter.take(chunk.length, abort.signal)) > 0) watch.throttled();
      }
      p.hash.update(chunk);
      p.offset += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      ctx.onBytes(s.role, chunk.length);
      if (pendingBytes >= FLUSH_BYTES) await flush();
    }
    if (p.offset < desc.size) throw new RegistryError('E_NETWORK', `${s.origin} ended the blob ${desc.digest} at ${p.offset} of ${desc.size} bytes`);
  } catch (err) {
    // Every byte arrived: a connection closed after the last one (a server's keep-alive
    // timeout while we were still reading slowly) changes nothing; the digest decides.
    if (p.offset === desc.size && !(err instanceof RegistryError)) return;
    if (stalled) throw abort.signal.reason as RegistryError;
    if (ctx.walk.signal?.aborted) throw err;
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('E_NETWORK', `${s.origin}: ${errorMessage(err)} (at ${p.offset} of ${desc.size} bytes)`, undefined, { cause: err });
  } finally {
    watch.stop();
    ctx.walk.signal?.removeEventListener('abort', onOuterAbort);
    try {
      await flush(); // what arrived before an error is a valid prefix as far as we know; keep it
    } finally {
      await fh.close();
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
      if (p.offset < desc.size) await transfer(ctx, s, desc, p);
      const actual = `sha256:${p.hash.digest('hex')}`;
      if (actual !== desc.digest) {
        // Any source that contributed may have lied: none of them is asked for this blob again.
        const blamed = p.contributors.size > 0 ? [...p.contributors] : ['an earlier, interrupted download'];
        for (const origin of p.contributors) dropped.set(origin, `sent bytes that do not match ${desc.digest}`);
        await p.reset();
        throw new RegistryError('E_DIGEST', `${desc.digest}: the downloaded bytes hash to ${actual} (from ${blamed.join(', ')}); discarded`);
      }
    },
    dropped,
  );
  await ctx.store.commitIngest(desc.digest);
  return 'downloaded';
}
