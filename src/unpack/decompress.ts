/**
 * A layer's bytes as a tar stream: gzip, zstd (Node 22's zlib) or uncompressed, chosen
 * by the media type and confirmed by the magic bytes, so a mislabelled layer fails with
 * a message instead of garbage.
 */
import { createReadStream } from 'node:fs';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import type { Readable } from 'node:stream';
import { UnpackError } from './errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

// Measured (BENCHMARKS.md): larger output chunks cost resident memory (each is a fresh
// allocation freed only by the GC) without making the unpack faster.
const READ_CHUNK = 256 * 1024;
const OUT_CHUNK = 64 * 1024;

export function compressionOf(mediaType: string): Compression | undefined {
  if (/\+gzip$|\.tar\.gzip$|tar\.gzip|\.gzip$/.test(mediaType) || mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip') return 'gzip';
  if (/\+zstd$|\.zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$|rootfs\.diff\.tar$/.test(mediaType)) return 'none';
  return undefined;
}

function sniff(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Uncompressed chunks of the layer blob at `file`. */
export async function* layerTar(file: string, mediaType: string, head: Buffer, what: string): AsyncGenerator<Buffer> {
  const declared = compressionOf(mediaType);
  if (declared === undefined) throw new UnpackError(`${what}: unsupported layer media type ${mediaType}`);
  const actual = head.length >= 4 ? sniff(head) : 'none';
  if (actual !== declared && !(declared === 'none' && actual === 'none')) {
    throw new UnpackError(`${what}: declared ${declared} (${mediaType}) but the data is ${actual}`);
  }
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK });
  const stream: Readable = declared === 'gzip' ? raw.pipe(createGunzip({ chunkSize: OUT_CHUNK })) : declared === 'zstd' ? raw.pipe(createZstdDecompress({ chunkSize: OUT_CHUNK })) : raw;
  raw.on('error', (err) => stream.destroy(err));
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw new UnpackError(`${what}: cannot decompress (${declared}): ${(err as Error).message}`);
  } finally {
    raw.destroy();
    stream.destroy();
  }
}
