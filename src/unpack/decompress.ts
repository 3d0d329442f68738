/**
 * A layer's bytes as a tar stream: gzip, zstd (Node 22's zlib) or uncompressed, chosen
 * by the media type and confirmed by the magic bytes, so a mislabelled layer fails with
 * a message instead of garbage.
 */
import type { FileHandle } from 'node:fs/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import type { Readable } from 'node:stream';
import { UnpackError } from './errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

// Measured (BENCHMARKS.md): larger output chunks cost resident memory (each is a fresh
// allocation freed only by the GC) without making the unpack faster.
const READ_CHUNK = 256 * 1024;
const OUT_CHUNK = 64 * 1024;

function compressionOf(mediaType: string): Compression | undefined {
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

/**
 * Uncompressed chunks of the layer blob open at `blob` (the caller opened it, so a blob
 * removed meanwhile is still read whole, and the caller closes it).
 */
export async function* layerTar(blob: FileHandle, mediaType: string): AsyncGenerator<Buffer> {
  const declared = compressionOf(mediaType);
  if (declared === undefined) throw new UnpackError(`unsupported layer media type ${mediaType}`);
  const magic = Buffer.alloc(4);
  const { bytesRead } = await blob.read(magic, 0, 4, 0);
  const actual = bytesRead >= 4 ? sniff(magic) : 'none';
  if (actual !== declared && !(declared === 'none' && actual === 'none')) {
    throw new UnpackError(`declared ${declared} (${mediaType}) but the data is ${actual}`);
  }
  const raw = blob.createReadStream({ start: 0, highWaterMark: READ_CHUNK, autoClose: false });
  const stream: Readable = declared === 'gzip' ? raw.pipe(createGunzip({ chunkSize: OUT_CHUNK })) : declared === 'zstd' ? raw.pipe(createZstdDecompress({ chunkSize: OUT_CHUNK })) : raw;
  raw.on('error', (err) => stream.destroy(err));
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw new UnpackError(`cannot decompress (${declared}): ${(err as Error).message}`);
  } finally {
    raw.destroy();
    stream.destroy();
  }
}
