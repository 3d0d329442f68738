/**
 * Images written by hand as OCI layouts, for unpack tests: layers from GNU tar (real
 * files with owners, modes and xattrs) or from a minimal tar encoder (hostile entries
 * GNU tar refuses to write), compressed with gzip, zstd or not at all.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { must } from './proc.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export interface LayerSpec {
  tar: Buffer;
  compression: Compression;
  /** Lie about the layer's uncompressed digest in the config. */
  wrongDiffId?: boolean;
  /** Replace the compressed bytes (e.g. truncated), keeping the declared digest of these bytes. */
  mangle?: (compressed: Buffer) => Buffer;
}

const MEDIA: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function putBlob(dir: string, b: Buffer): string {
  const d = sha(b);
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'blobs/sha256', d.slice(7)), b);
  return d;
}

/** Writes (or adds to) an OCI layout with one image named `ref`; returns the manifest digest. */
export function writeImage(dir: string, ref: string, layers: LayerSpec[], architecture = 'amd64'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const descs = layers.map((l) => {
    const raw = l.compression === 'gzip' ? gzipSync(l.tar) : l.compression === 'zstd' ? zstdCompressSync(l.tar) : l.tar;
    const blob = l.mangle ? l.mangle(raw) : raw;
    return { mediaType: MEDIA[l.compression], digest: putBlob(dir, blob), size: blob.length };
  });
  const diffIds = layers.map((l) => (l.wrongDiffId ? sha(Buffer.from('not this layer')) : sha(l.tar)));
  const config = Buffer.from(JSON.stringify({ architecture, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: putBlob(dir, config), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: descs }));
  const digest = putBlob(dir, manifest);
  const indexFile = path.join(dir, 'index.json');
  const index: { manifests: unknown[] } = existsSync(indexFile)
    ? (JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests: unknown[] })
    : ({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] } as { manifests: unknown[] });
  index.manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': ref } });
  writeFileSync(indexFile, JSON.stringify(index));
  return digest;
}

/** A PAX tar of `paths` (default: everything) under `dir`, with numeric owners and xattrs. */
export async function tarDir(dir: string, paths: string[] = ['.']): Promise<Buffer> {
  const out = `${dir}.tar`;
  await must('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '--numeric-owner', '--sort=name', '-C', dir, '-cf', out, ...paths]);
  return readFileSync(out);
}

export interface RawEntry {
  name: string;
  /** 'file' (the default), 'dir', 'symlink', 'hardlink', 'char', 'fifo', or a raw tar typeflag such as 'g' or 'S'. */
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Extra PAX records (key -> value). */
  pax?: Record<string, string | Buffer>;
}

const FLAGS: Record<string, string> = { file: '0', dir: '5', symlink: '2', hardlink: '1', char: '3', fifo: '6' };

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

function header(e: RawEntry, name: string, size: number, flag: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(e.mode ?? (flag === '5' ? 0o755 : 0o644), 8), 100, 'latin1');
  h.write(octal(e.uid ?? 0, 8), 108, 'latin1');
  h.write(octal(e.gid ?? 0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(flag, 156, 'latin1');
  h.write((e.linkname ?? '').slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  return sealHeader(h);
}

/** Writes a header's checksum (after the header was written or edited). */
export function sealHeader(h: Buffer): Buffer {
  h.write('        ', 148, 'latin1');
  let sum = 0;
  for (const c of h.subarray(0, 512)) sum += c;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function pad(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

/** A PAX record, "<len> key=value\n". */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** Tar bytes written entry by entry, hostile ones included; long names go through PAX. */
export function rawTar(entries: RawEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const flag = FLAGS[e.type ?? 'file'] ?? e.type!;
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const records: Buffer[] = [];
    if (Buffer.byteLength(e.name) > 100) records.push(paxRecord('path', Buffer.from(e.name)));
    if (e.linkname && Buffer.byteLength(e.linkname) > 100) records.push(paxRecord('linkpath', Buffer.from(e.linkname)));
    for (const [k, v] of Object.entries(e.pax ?? {})) records.push(paxRecord(k, v));
    if (records.length > 0) {
      const body = Buffer.concat(records);
      parts.push(header({ name: 'PaxHeader' }, 'PaxHeader', body.length, 'x'), pad(body));
    }
    // Regular files and PAX global headers carry a body.
    const withBody = flag === '0' || flag === 'g';
    parts.push(header(e, e.name, withBody ? data.length : 0, flag));
    if (withBody) parts.push(pad(data));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
