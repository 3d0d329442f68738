/**
 * A streaming reader for the tar dialects image layers use (ustar, PAX, GNU long names),
 * turning untrusted headers into typed entries once, with limits.
 *
 * Why not tar-stream or node-tar: both decode PAX values as UTF-8 strings, which corrupts
 * binary extended attributes (a `SCHILY.xattr.user.x` of 0xff00fe comes back as
 * ef bf bd 00 ef bf bd; node-tar drops SCHILY.xattr.* altogether). File capabilities
 * (`security.capability`) are binary, so values here stay Buffers end to end.
 */
import { UnpackError } from './errors.ts';

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'dir' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** Path as written in the archive (UTF-8), not yet normalized. */
  path: string;
  type: EntryType;
  size: number;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (may be fractional from PAX). */
  mtime: number;
  linkpath?: string;
  /** Extended attributes (PAX SCHILY.xattr.* / LIBARCHIVE.xattr.*), raw values. */
  xattrs: Map<string, Buffer>;
}

export interface TarLimits {
  maxEntries: number;
  /** Longest path, in bytes. */
  maxPathBytes: number;
  /** Longest PAX or GNU long-name record. */
  maxMetaBytes: number;
}

const DEFAULT_LIMITS: TarLimits = { maxEntries: 2_000_000, maxPathBytes: 4096, maxMetaBytes: 1024 * 1024 };

/** Receives a regular file's body in pieces; the buffers are reused after the call settles. */
export type BodyHandler = (chunk: Buffer) => void | Promise<void>;

const BLOCK = 512;

/** Reads exact byte counts from an async stream of chunks. */
class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private cur: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.pos >= this.cur.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.cur = r.value;
      this.pos = 0;
    }
    return true;
  }

  /** Exactly n bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    if (this.pos + n <= this.cur.length) {
      const b = this.cur.subarray(this.pos, this.pos + n);
      this.pos += n;
      return b;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0 && (await this.fill())) {
      const take = Math.min(need, this.cur.length - this.pos);
      parts.push(this.cur.subarray(this.pos, this.pos + take));
      this.pos += take;
      need -= take;
    }
    return Buffer.concat(parts);
  }

  /** Passes n bytes to `sink` without copying; returns how many there were. */
  async stream(n: number, sink: BodyHandler | undefined): Promise<number> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const take = Math.min(left, this.cur.length - this.pos);
      const piece = this.cur.subarray(this.pos, this.pos + take);
      this.pos += take;
      left -= take;
      if (sink) await sink(piece);
    }
    return n - left;
  }

  /** Drains the rest (tar's end padding). */
  async rest(): Promise<number> {
    let n = 0;
    while (await this.fill()) {
      n += this.cur.length - this.pos;
      this.pos = this.cur.length;
    }
    return n;
  }
}

function cstr(b: Buffer, off: number, len: number): Buffer {
  const end = b.indexOf(0, off);
  return b.subarray(off, end < 0 || end > off + len ? off + len : end);
}

function num(b: Buffer, off: number, len: number, field: string, where: string): number {
  if (b[off]! & 0x80) {
    // GNU base-256: a big-endian two's-complement number in the rest of the field.
    if (b[off] === 0xff) throw new UnpackError(`${where}: negative ${field}`);
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    if (!Number.isSafeInteger(v)) throw new UnpackError(`${where}: ${field} too large`);
    return v;
  }
  const text = cstr(b, off, len).toString('latin1').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new UnpackError(`${where}: ${field} is not an octal number (${JSON.stringify(text)})`);
  return parseInt(text, 8);
}

/**
 * The ustar prefix of a header's name, if it has one. Under the GNU magic ("ustar  \0")
 * those bytes are GNU's atime and ctime, but Go's archive/tar, which containerd and moby
 * unpack with, reads them as a prefix when those times do not parse: archives that Go
 * before 1.8 wrote (golang/go#12594). The same file must land where containerd puts it.
 */
function ustarPrefix(h: Buffer): Buffer | undefined {
  if (h[345] === 0) return undefined;
  const magic = h.toString('latin1', 257, 265);
  if (magic.startsWith('ustar\0')) return cstr(h, 345, 155);
  if (magic !== 'ustar  \0' || (goNumeric(h, 345, 12) && goNumeric(h, 357, 12))) return undefined;
  const prefix = cstr(h, 345, 155);
  return prefix.every((c) => c < 0x80) ? prefix : undefined;
}

/** Whether Go's archive/tar parses this numeric field (base-256, or octal padded with spaces and NULs). */
function goNumeric(b: Buffer, off: number, len: number): boolean {
  if (b[off]! & 0x80) return true;
  const field = b.toString('latin1', off, off + len).replace(/^[ \0]+|[ \0]+$/g, '');
  const text = field.split('\0')[0]!;
  return text === '' || /^[0-7]+$/.test(text);
}

function checksumOk(h: Buffer): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const stored = parseInt(cstr(h, 148, 8).toString('latin1').trim() || 'x', 8);
  return stored === unsigned || stored === signed;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(b: Buffer, what: string, where: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new UnpackError(`${where}: ${what} is not valid UTF-8 (${b.toString('hex').slice(0, 80)})`);
  }
}

interface Pax {
  path?: Buffer;
  linkpath?: Buffer;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs: Map<string, Buffer>;
}

/** bsdtar's percent-encoded xattr name; a broken escape or non-UTF-8 bytes refuse the layer. */
function urlDecoded(name: string, where: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    throw new UnpackError(`${where}: PAX record LIBARCHIVE.xattr.${name}: the attribute name is not percent-encoded UTF-8`);
  }
}

/** PAX records: "<len> <key>=<value>\n", values as raw bytes. */
function parsePax(body: Buffer, where: string): Pax {
  const out: Pax = { xattrs: new Map() };
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(body.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= sp - i + 1 || i + len > body.length || body[i + len - 1] !== 0x0a) {
      if (body.subarray(i).every((c) => c === 0)) break;
      throw new UnpackError(`${where}: malformed PAX record at byte ${i}`);
    }
    const rec = body.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new UnpackError(`${where}: PAX record without a key`);
    const key = rec.toString('utf8', 0, eq);
    const value = rec.subarray(eq + 1);
    // Decimal digits only, as Go's archive/tar reads them (strconv.ParseInt, parsePAXTime):
    // Number() alone takes "1.5", "0x10", "1e3" and " 7", and a uid of 1.5 or a size of 1.5
    // would reach chown and the body loop. Only mtime has a fraction.
    const decimal = (f: string, fraction = false) => {
      const text = value.toString('latin1');
      const n = (fraction ? /^\d+(\.\d*)?$/ : /^\d+$/).test(text) ? Number(text) : NaN;
      if (!(fraction ? Number.isFinite(n) : Number.isSafeInteger(n)))
        throw new UnpackError(`${where}: PAX ${f} ${JSON.stringify(text)} is not a ${fraction ? 'number of seconds' : 'whole number below 2^53'}`);
      return n;
    };
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') out.size = decimal('size');
    else if (key === 'uid') out.uid = decimal('uid');
    else if (key === 'gid') out.gid = decimal('gid');
    else if (key === 'mtime') out.mtime = decimal('mtime', true);
    else if (key.startsWith('SCHILY.xattr.')) out.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
    else if (key.startsWith('LIBARCHIVE.xattr.')) out.xattrs.set(urlDecoded(key.slice('LIBARCHIVE.xattr.'.length), where), Buffer.from(value.toString('latin1'), 'base64'));
    else if (key.startsWith('GNU.sparse.')) throw new UnpackError(`${where}: sparse files are not supported in image layers`);
    i += len;
  }
  return out;
}

const TYPES: Record<string, EntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

/**
 * Reads every entry of a tar stream. `onEntry` decides what to do with an entry and
 * returns a handler for a regular file's body (or nothing to skip it). Resolves with the
 * number of entries.
 */
export async function readTar(source: AsyncIterable<Buffer>, onEntry: (e: TarEntry) => Promise<BodyHandler | undefined>, limits: TarLimits = DEFAULT_LIMITS): Promise<number> {
  const r = new ByteReader(source);
  let entries = 0;
  let pax: Pax | undefined;
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let zeroBlocks = 0;
  let offset = 0;
  const meta = async (size: number, where: string): Promise<Buffer> => {
    if (size > limits.maxMetaBytes) throw new UnpackError(`${where}: metadata record of ${size} bytes exceeds the limit of ${limits.maxMetaBytes}`);
    const b = Buffer.from(await r.read(size)); // a copy: the reader's buffers move on
    if (b.length < size) throw new UnpackError(`${where}: archive ends inside a metadata record`);
    await r.read((BLOCK - (size % BLOCK)) % BLOCK);
    offset += size + ((BLOCK - (size % BLOCK)) % BLOCK);
    return b;
  };
  for (;;) {
    const h = await r.read(BLOCK);
    const where = `tar entry at byte ${offset}`;
    offset += BLOCK;
    // The end of the stream at an entry boundary ends the archive, with or without its two
    // zero blocks, as Go's archive/tar (and so containerd) reads it: umoci writes layers
    // without them. A layer cut short anywhere else fails, and its diff_id catches the rest.
    if (h.length === 0) return entries;
    if (h.length < BLOCK) throw new UnpackError(`${where}: the archive is truncated inside a header`);
    if (h.every((c) => c === 0)) {
      zeroBlocks++;
      if (zeroBlocks === 2) {
        await r.rest();
        return entries;
      }
      continue;
    }
    zeroBlocks = 0;
    if (!checksumOk(h)) throw new UnpackError(`${where}: header checksum mismatch (not a tar archive, or corrupted)`);
    const flag = String.fromCharCode(h[156]!);
    const size = num(h, 124, 12, 'size', where);
    if (flag === 'x' || flag === 'g') {
      const p = parsePax(await meta(size, where), where);
      // A global header's records apply to no entry: Go's archive/tar hands it back as an
      // entry of its own and containerd, moby and umoci skip it, so an image unpacks to the
      // same paths and owners as there (git archive writes one with a commit id).
      if (flag === 'x') pax = p;
      continue;
    }
    if (flag === 'L' || flag === 'K') {
      const b = cstr(await meta(size, where), 0, size);
      if (flag === 'L') longName = Buffer.from(b);
      else longLink = Buffer.from(b);
      continue;
    }
    const type = TYPES[flag];
    if (type === undefined) throw new UnpackError(`${where}: unsupported entry type ${JSON.stringify(flag)}`);
    if (++entries > limits.maxEntries) throw new UnpackError(`the layer has more than ${limits.maxEntries} entries`);

    let nameBytes: Buffer = pax?.path ?? longName ?? cstr(h, 0, 100);
    const prefix = !pax?.path && !longName ? ustarPrefix(h) : undefined;
    if (prefix) nameBytes = Buffer.concat([prefix, Buffer.from('/'), nameBytes]);
    const linkBytes = pax?.linkpath ?? longLink ?? cstr(h, 157, 100);
    if (nameBytes.length > limits.maxPathBytes) throw new UnpackError(`${where}: path of ${nameBytes.length} bytes exceeds the limit of ${limits.maxPathBytes}`);
    if (linkBytes.length > limits.maxPathBytes) throw new UnpackError(`${where}: link target of ${linkBytes.length} bytes exceeds the limit of ${limits.maxPathBytes}`);
    const path = text(nameBytes, 'the path', where);
    const entryWhere = `${JSON.stringify(path)} (${where})`;
    const entry: TarEntry = {
      path,
      type,
      size: pax?.size ?? size,
      mode: num(h, 100, 8, 'mode', entryWhere) & 0o7777,
      uid: pax?.uid ?? num(h, 108, 8, 'uid', entryWhere),
      gid: pax?.gid ?? num(h, 116, 8, 'gid', entryWhere),
      mtime: pax?.mtime ?? num(h, 136, 12, 'mtime', entryWhere),
      xattrs: pax?.xattrs ?? new Map<string, Buffer>(),
    };
    if (type === 'hardlink' || type === 'symlink') {
      if (linkBytes.length === 0) throw new UnpackError(`${entryWhere}: ${type} without a target`);
      entry.linkpath = text(linkBytes, 'the link target', entryWhere);
    }
    if (type === 'char' || type === 'block') {
      // Device nodes are skipped, never created, but a header with malformed or negative
      // numbers is a malformed layer, refused as Go's archive/tar refuses it.
      num(h, 329, 8, 'devmajor', entryWhere);
      num(h, 337, 8, 'devminor', entryWhere);
    }
    pax = undefined;
    longName = undefined;
    longLink = undefined;

    // Only regular files carry data (hard links may declare a size; it is not data).
    const dataSize = type === 'file' ? entry.size : 0;
    const handler = await onEntry(entry);
    const got = await r.stream(dataSize, handler);
    if (got < dataSize) throw new UnpackError(`${entryWhere}: the archive is truncated inside this file (${got} of ${dataSize} bytes)`);
    const pad = (BLOCK - (dataSize % BLOCK)) % BLOCK;
    await r.read(pad);
    offset += dataSize + pad;
  }
}
