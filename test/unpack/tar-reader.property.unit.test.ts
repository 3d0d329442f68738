/**
 * Properties of the layer tar reader (src/unpack/tar-reader.ts), which turns untrusted bytes
 * into the entries the unpacker applies as root:
 *
 * - round trip: entries written by an encoder in this file, which follows POSIX pax (ustar
 *   headers; the prefix field or a `path` record for long names, `linkpath`, `size`, `uid`,
 *   `gid` and fractional `mtime` records where ustar's fields fall short, SCHILY and
 *   LIBARCHIVE xattrs, global headers, ignorable records), come back field for field, with
 *   their bodies, whatever the size of the chunks the archive arrives in. The encoder is
 *   independent of the reader: it shares no code with it.
 * - never a crash: arbitrary bytes, valid archives with bytes changed (checksums redone, so the
 *   changes reach the field parsers), and headers and PAX records made of hostile fields give
 *   entries or an UnpackError, never another error (a TypeError or RangeError would surface
 *   as an internal error), and every entry is well formed: sizes, owners and device numbers
 *   are non-negative safe integers, as chown and the body loop need them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTar, type EntryType, type TarEntry } from '../../src/unpack/tar-reader.ts';
import { UnpackError } from '../../src/unpack/errors.ts';
import { propertyOptions } from '../../testbed/property.ts';

const OPTIONS = propertyOptions(200);
const BLOCK = 512;

// ---- a POSIX pax writer -------------------------------------------------------------

interface Xattr {
  name: string;
  value: Buffer;
  /** SCHILY.xattr.NAME=raw bytes (GNU tar, Go) or LIBARCHIVE.xattr.URL-ENCODED=base64 (bsdtar). */
  form: 'schily' | 'libarchive';
}

interface Spec {
  path: string;
  type: EntryType;
  /** A regular file's body. */
  data: Buffer;
  /** The size a header-only entry declares (a hard link may declare one; it is not data). */
  declaredSize: number;
  mode: number;
  /** File type bits some writers leave in the mode field (the reader keeps the permission bits). */
  modeTypeBits: number;
  uid: number;
  gid: number;
  mtimeSec: number;
  /** Nanoseconds, written as a fractional PAX mtime. */
  mtimeNsec: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  xattrs: Xattr[];
  /** A file's typeflag: '0', or the old '\0', or '7' (contiguous, read as a file). */
  fileFlag: '0' | '\0' | '7';
  /** Write PAX records even where the ustar fields would do. */
  forcePax: boolean;
  /** For a long ASCII path that splits at a '/', use ustar's prefix field instead of a PAX path. */
  usePrefix: boolean;
  /** Records the reader must ignore (comment, uname, ...). */
  otherRecords: [string, string][];
  /** A global header (`g`) before the entry, with records that name no field of ours. */
  globalComment?: string;
}

const FLAG: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const OCTAL_MAX = (digits: number) => 8 ** digits - 1;

function octal(n: number, width: number): Buffer {
  // width - 1 octal digits and a NUL, as ustar writes numeric fields.
  return Buffer.from(`${n.toString(8).padStart(width - 1, '0')}\0`, 'latin1');
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "%d %s=%s\n": the length counts itself, so find the fixed point.
  const rest = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

function ustarHeader(f: {
  name: Buffer;
  prefix?: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  flag: string;
  linkname?: Buffer;
  devmajor?: number;
  devminor?: number;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  f.name.copy(h, 0, 0, 100);
  octal(f.mode, 8).copy(h, 100);
  octal(f.uid, 8).copy(h, 108);
  octal(f.gid, 8).copy(h, 116);
  octal(f.size, 12).copy(h, 124);
  octal(f.mtime, 12).copy(h, 136);
  h.write(f.flag, 156, 'latin1');
  f.linkname?.copy(h, 157, 0, 100);
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  octal(f.devmajor ?? 0, 8).copy(h, 329);
  octal(f.devminor ?? 0, 8).copy(h, 337);
  f.prefix?.copy(h, 345, 0, 155);
  return seal(h);
}

/** The header checksum: the sum of its bytes with the checksum field read as spaces. */
function seal(h: Buffer): Buffer {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

const padded = (b: Buffer) => Buffer.concat([b, Buffer.alloc((BLOCK - (b.length % BLOCK)) % BLOCK)]);
const isAscii = (b: Buffer) => b.every((c) => c < 0x80);

/** ustar's split of a long path: prefix (<= 155 bytes) '/' name (<= 100 bytes), if there is one. */
function prefixSplit(p: Buffer): [Buffer, Buffer] | undefined {
  for (let i = Math.min(p.length - 1, 155); i >= 0; i--) {
    if (p[i] !== 0x2f) continue;
    const name = p.subarray(i + 1);
    if (name.length === 0) return undefined;
    if (name.length <= 100 && i > 0) return [p.subarray(0, i), name];
    return undefined;
  }
  return undefined;
}

interface Written {
  bytes: Buffer;
  /** Where each header block starts (PAX and global headers included). */
  headers: number[];
}

function writeArchive(specs: Spec[], end: 'blocks' | 'record' | 'none'): Written {
  const parts: Buffer[] = [];
  const headers: number[] = [];
  let at = 0;
  const push = (b: Buffer, isHeader: boolean) => {
    if (isHeader) headers.push(at);
    parts.push(b);
    at += b.length;
  };
  specs.forEach((s, i) => {
    if (s.globalComment !== undefined) {
      const body = paxRecord('comment', Buffer.from(s.globalComment));
      push(ustarHeader({ name: Buffer.from(`GlobalHead.0.${i}`), mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, flag: 'g' }), true);
      push(padded(body), false);
    }
    const path = Buffer.from(s.path);
    const link = s.linkpath === undefined ? undefined : Buffer.from(s.linkpath);
    const size = s.type === 'file' ? s.data.length : s.declaredSize;
    const records: Buffer[] = [];
    let name: Buffer = path;
    let prefix: Buffer | undefined;
    if (s.forcePax || path.length > 100 || !isAscii(path)) {
      const split = isAscii(path) && !s.forcePax && s.usePrefix ? prefixSplit(path) : undefined;
      if (split) [prefix, name] = split;
      else {
        records.push(paxRecord('path', path));
        // What the header says is not used: make it wrong, prefix included.
        name = Buffer.from(`PaxHeaders/${i}-placeholder`);
        prefix = Buffer.from('not/the/prefix');
      }
    }
    let linkname = link;
    if (link && (s.forcePax || link.length > 100)) {
      records.push(paxRecord('linkpath', link));
      linkname = Buffer.from('placeholder-link');
    }
    const big = (v: number, digits: number, key: string) => {
      if (!s.forcePax && v <= OCTAL_MAX(digits)) return v;
      records.push(paxRecord(key, Buffer.from(String(v))));
      return v <= OCTAL_MAX(digits) ? v : 0;
    };
    const hSize = big(size, 11, 'size');
    const hUid = big(s.uid, 7, 'uid');
    const hGid = big(s.gid, 7, 'gid');
    let hMtime = s.mtimeSec;
    if (s.mtimeNsec !== 0 || s.mtimeSec > OCTAL_MAX(11) || s.forcePax) {
      const frac = s.mtimeNsec === 0 ? '' : `.${String(s.mtimeNsec).padStart(9, '0').replace(/0+$/, '')}`;
      records.push(paxRecord('mtime', Buffer.from(`${s.mtimeSec}${frac}`)));
      if (s.mtimeSec > OCTAL_MAX(11)) hMtime = 0;
    }
    for (const x of s.xattrs) {
      if (x.form === 'schily') records.push(paxRecord(`SCHILY.xattr.${x.name}`, x.value));
      else records.push(paxRecord(`LIBARCHIVE.xattr.${encodeURIComponent(x.name)}`, Buffer.from(x.value.toString('base64'))));
    }
    for (const [k, v] of s.otherRecords) records.push(paxRecord(k, Buffer.from(v)));
    if (records.length > 0) {
      const body = Buffer.concat(records);
      push(ustarHeader({ name: Buffer.from(`PaxHeaders.0/${i}`), mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, flag: 'x' }), true);
      push(padded(body), false);
    }
    const flag = s.type === 'file' ? s.fileFlag : FLAG[s.type];
    push(ustarHeader({ name, prefix, mode: s.mode | s.modeTypeBits, uid: hUid, gid: hGid, size: hSize, mtime: hMtime, flag, linkname, devmajor: s.devmajor, devminor: s.devminor }), true);
    if (s.type === 'file') push(padded(s.data), false);
  });
  if (end === 'blocks') push(Buffer.alloc(2 * BLOCK), false);
  // tar's default blocking: the archive is padded to a 10240-byte record.
  if (end === 'record') push(Buffer.alloc(2 * BLOCK + ((20 * BLOCK - ((at + 2 * BLOCK) % (20 * BLOCK))) % (20 * BLOCK))), false);
  return { bytes: Buffer.concat(parts), headers };
}

/** What the reader should give back for a spec. */
function expected(s: Spec): TarEntry {
  const e: TarEntry = {
    path: s.path,
    type: s.type,
    size: s.type === 'file' ? s.data.length : s.declaredSize,
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    mtime: Number(`${s.mtimeSec}.${String(s.mtimeNsec).padStart(9, '0')}`),
    xattrs: new Map(s.xattrs.map((x) => [x.name, x.value])),
  };
  if (s.linkpath !== undefined) e.linkpath = s.linkpath;
  return e;
}

// ---- generators ---------------------------------------------------------------------

/** Path text: ASCII and any printable Unicode, no NUL (a C string in the header). */
const pathText = (maxLength: number) =>
  fc
    .oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength }),
      // Long paths: of short ASCII components (ustar's prefix field can hold most), and of any text.
      fc
        .array(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789._-'), minLength: 1, maxLength: 40, size: 'medium' }), { minLength: 3, maxLength: 12, size: 'large' })
        .map((c) => c.join('/')),
      fc.string({ unit: 'grapheme', minLength: 40, maxLength, size: 'large' }),
    )
    .filter((p) => !p.includes('\0'));

const ownerId = fc.oneof(fc.nat(0o7777777), fc.integer({ min: 0o7777777 + 1, max: 2 ** 32 - 1 }));
const xattrName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((n) => !n.includes('='));

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    path: pathText(300),
    type: fc.constantFrom<EntryType>('file', 'file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'),
    data: fc.oneof(fc.uint8Array({ maxLength: 1500 }), fc.uint8Array({ maxLength: 1500, size: 'large' })).map((a) => Buffer.from(a)),
    declaredSize: fc.oneof(fc.constant(0), fc.nat(1000), fc.integer({ min: 0, max: 2 ** 40 })),
    mode: fc.nat(0o7777),
    modeTypeBits: fc.constantFrom(0, 0o100000, 0o40000, 0o120000),
    uid: ownerId,
    gid: ownerId,
    mtimeSec: fc.oneof(fc.integer({ min: 0, max: OCTAL_MAX(11) }), fc.integer({ min: 0, max: 2 ** 40 })),
    mtimeNsec: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 })),
    linkpath: pathText(200),
    devmajor: fc.nat(0o7777777),
    devminor: fc.nat(0o7777777),
    xattrs: fc.uniqueArray(fc.record({ name: xattrName, value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), form: fc.constantFrom<Xattr['form']>('schily', 'libarchive') }), {
      maxLength: 3,
      selector: (x) => x.name,
    }),
    fileFlag: fc.constantFrom<Spec['fileFlag']>('0', '\0', '7'),
    forcePax: fc.boolean(),
    usePrefix: fc.boolean(),
    otherRecords: fc.array(fc.tuple(fc.constantFrom('comment', 'uname', 'gname', 'atime', 'ctime', 'hdrcharset'), fc.string({ unit: 'grapheme', maxLength: 30 })), { maxLength: 2 }),
    globalComment: fc.option(fc.string({ unit: 'grapheme', maxLength: 60 }), { nil: undefined }),
  })
  .map((s) => ({
    ...s,
    linkpath: s.type === 'symlink' || s.type === 'hardlink' ? s.linkpath : undefined,
    devmajor: s.type === 'char' || s.type === 'block' ? s.devmajor : undefined,
    devminor: s.type === 'char' || s.type === 'block' ? s.devminor : undefined,
    data: s.type === 'file' ? s.data : Buffer.alloc(0),
  }));

/** The archive as a stream in pieces of the given sizes (the last piece takes the rest). */
async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const n of sizes) {
    if (at >= bytes.length) return;
    yield bytes.subarray(at, at + n);
    at += n;
  }
  if (at < bytes.length) yield bytes.subarray(at);
}

interface Read {
  entries: TarEntry[];
  bodies: Buffer[];
  count: number;
}

async function readAll(bytes: Buffer, sizes: number[] = []): Promise<Read> {
  const entries: TarEntry[] = [];
  const bodies: Buffer[] = [];
  const count = await readTar(chunked(bytes, sizes), async (e) => {
    entries.push(e);
    if (e.type !== 'file') return undefined;
    const pieces: Buffer[] = [];
    bodies.push(Buffer.alloc(0));
    const i = bodies.length - 1;
    return (chunk) => {
      // The reader reuses its buffers once the handler returns: keep a copy.
      pieces.push(Buffer.from(chunk));
      bodies[i] = Buffer.concat(pieces);
    };
  });
  return { entries, bodies, count };
}

/** An entry the unpacker can apply without a crash: the reader's promise to it. */
function assertWellFormed(e: TarEntry): void {
  const safeNat = (v: unknown, what: string) => expect(Number.isSafeInteger(v) && (v as number) >= 0, `${what} ${String(v)} of ${JSON.stringify(e.path)}`).toBe(true);
  expect(typeof e.path).toBe('string');
  expect(['file', 'hardlink', 'symlink', 'dir', 'char', 'block', 'fifo']).toContain(e.type);
  safeNat(e.size, 'size');
  safeNat(e.uid, 'uid');
  safeNat(e.gid, 'gid');
  expect(Number.isInteger(e.mode) && e.mode >= 0 && e.mode <= 0o7777, `mode ${e.mode}`).toBe(true);
  expect(Number.isFinite(e.mtime) && e.mtime >= 0, `mtime ${e.mtime}`).toBe(true);
  if (e.type === 'hardlink' || e.type === 'symlink') expect(typeof e.linkpath === 'string' && e.linkpath.length > 0).toBe(true);
  for (const [k, v] of e.xattrs) {
    expect(typeof k).toBe('string');
    expect(Buffer.isBuffer(v)).toBe(true);
  }
}

/** Reads `bytes`: either entries, all well formed, or an UnpackError; nothing else. */
async function readsOrRefuses(bytes: Buffer, sizes: number[] = []): Promise<void> {
  let entries: TarEntry[] = [];
  try {
    const r = await readAll(bytes, sizes);
    entries = r.entries;
    expect(r.count).toBe(r.entries.length);
  } catch (err) {
    if (!(err instanceof UnpackError)) throw new Error(`not an UnpackError: ${(err as Error)?.stack ?? String(err)}`, { cause: err });
  }
  for (const e of entries) assertWellFormed(e);
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 1500 }), { maxLength: 30 });

// ---- properties ---------------------------------------------------------------------

describe('tar reader: round trip from a POSIX pax writer', () => {
  it('gives back every entry, field for field, and every body, in chunks of any size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 6 }), fc.constantFrom<'blocks' | 'record' | 'none'>('blocks', 'record', 'none'), chunkSizes, async (specs, end, sizes) => {
        const { bytes } = writeArchive(specs, end);
        const r = await readAll(bytes, sizes);
        expect(r.entries).toEqual(specs.map(expected));
        expect(r.count).toBe(specs.length);
        expect(r.bodies).toEqual(specs.filter((s) => s.type === 'file').map((s) => s.data));
      }),
      OPTIONS,
    );
  });
});

describe('tar reader: never a crash', () => {
  it('arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 3 * BLOCK }), fc.uint8Array({ maxLength: 3 * BLOCK, size: 'max' })), chunkSizes, async (bytes, sizes) =>
        readsOrRefuses(Buffer.from(bytes), sizes),
      ),
      OPTIONS,
    );
  });

  it('a valid archive with bytes changed, its header checksums redone', async () => {
    const change = fc.record({ at: fc.nat(), byte: fc.oneof(fc.nat(255), fc.constantFrom(...Buffer.from('0789 \0x-.=\n/'))) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb, { minLength: 1, maxLength: 3 }),
        fc.array(change, { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        async (specs, changes, cut, reseal) => {
          const { bytes, headers } = writeArchive(specs, 'blocks');
          for (const c of changes) bytes[c.at % bytes.length] = c.byte;
          if (reseal) for (const h of headers) seal(bytes.subarray(h, h + BLOCK));
          await readsOrRefuses(cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      OPTIONS,
    );
  });

  it('headers of hostile fields, PAX records of hostile keys, values and lengths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileEntry, { minLength: 1, maxLength: 4 }), fc.boolean(), chunkSizes, async (hs, end, sizes) => {
        const bytes = Buffer.concat([...hs.map(hostileBytes), end ? Buffer.alloc(2 * BLOCK) : Buffer.alloc(0)]);
        await readsOrRefuses(bytes, sizes);
      }),
      OPTIONS,
    );
  });
});

/** The fields of one entry (a header, and maybe a PAX header before it), as bytes. */
interface Hostile {
  pax?: { records: Buffer[]; global: boolean };
  name: Buffer;
  mode: Buffer;
  uid: Buffer;
  gid: Buffer;
  size: Buffer;
  mtime: Buffer;
  flag: string;
  linkname: Buffer;
  magic: string;
  devmajor: Buffer;
  devminor: Buffer;
  prefix: Buffer;
  body: Buffer;
}

/** A numeric field that is not what ustar writes: any bytes, stray characters, GNU base-256. */
const badNumber = (len: number) =>
  fc.oneof(
    fc.uint8Array({ maxLength: len }).map((a) => Buffer.from(a)),
    fc.string({ unit: fc.constantFrom(...'01234567 89\0-+x.'), maxLength: len }).map((t) => Buffer.from(t, 'latin1')),
    // GNU base-256: the high bit set, then big-endian bytes.
    fc.uint8Array({ minLength: len, maxLength: len }).map((a) => Buffer.from([0x80 | a[0]!, ...a.subarray(1)])),
  );

const NUMERIC_KEYS = ['size', 'uid', 'gid', 'mtime'];
const paxValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((v) => Buffer.from(v)),
  fc.double().map((d) => Buffer.from(String(d))),
  fc.constantFrom('1.5', '-1', '-0', '1e3', '0x10', ' 7', '7 ', 'Infinity', 'NaN', '9007199254740993', '1e300', '', '00', '+5').map((v) => Buffer.from(v)),
);
/** A record the reader should take: a known key with a value of its kind (no size: it moves the body). */
const goodRecord = fc
  .oneof(
    fc.tuple(fc.constantFrom('uid', 'gid', 'mtime'), fc.nat().map(String)),
    fc.tuple(fc.constantFrom('path', 'linkpath', 'comment', 'SCHILY.xattr.user.x'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 })),
    fc.tuple(fc.constant('LIBARCHIVE.xattr.user.y'), fc.base64String({ maxLength: 20 })),
  )
  .map(([k, v]) => paxRecord(k, Buffer.from(v)));
/** A record of a hostile key, value or length. */
const badRecord = fc
  .record({
    key: fc.oneof(
      fc.constantFrom(...NUMERIC_KEYS, 'path', 'linkpath', '', 'GNU.sparse.size', 'SCHILY.xattr.', 'LIBARCHIVE.xattr.'),
      fc.string({ unit: 'binary', maxLength: 12 }).map((k) => `LIBARCHIVE.xattr.${k}`),
      fc.string({ unit: 'binary', maxLength: 12 }),
    ),
    value: paxValue,
    lengthOff: fc.oneof(fc.constant(0), fc.integer({ min: -5, max: 5 })),
  })
  .map(({ key, value, lengthOff }) => {
    const r = paxRecord(key, value);
    if (lengthOff === 0) return r;
    return Buffer.concat([Buffer.from(String(Math.max(0, r.length + lengthOff))), r.subarray(r.indexOf(0x20))]);
  });

/** A well-formed entry with one or two of its fields replaced by hostile ones. */
const hostileEntry: fc.Arbitrary<Hostile> = fc
  .record({
    pax: fc.option(fc.record({ records: fc.array(goodRecord, { minLength: 1, maxLength: 3 }), global: fc.constant(false) }), { nil: undefined, freq: 2 }),
    name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((t) => Buffer.from(t)),
    mode: fc.nat(0o7777).map((n) => octal(n, 8)),
    uid: fc.nat(0o7777777).map((n) => octal(n, 8)),
    gid: fc.nat(0o7777777).map((n) => octal(n, 8)),
    mtime: fc.nat(2 ** 33 - 1).map((n) => octal(n, 12)),
    flag: fc.constantFrom(...'001234567'),
    linkname: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((t) => Buffer.from(t)),
    magic: fc.constant('ustar\x0000'),
    devmajor: fc.nat(0o7777777).map((n) => octal(n, 8)),
    devminor: fc.nat(0o7777777).map((n) => octal(n, 8)),
    prefix: fc.constant(Buffer.alloc(0)),
    body: fc.uint8Array({ maxLength: 1200, size: 'large' }).map((a) => Buffer.from(a)),
  })
  // Only a regular file carries a body.
  .map((h) => ({ ...h, body: h.flag === '0' ? h.body : Buffer.alloc(0) }))
  .map((h) => ({ ...h, size: octal(h.body.length, 12) }))
  .chain((h) => {
    const override = fc.oneof(
      ...(['mode', 'uid', 'gid', 'devmajor', 'devminor'] as const).map((f) => badNumber(8).map((v): Partial<Hostile> => ({ [f]: v }))),
      ...(['size', 'mtime'] as const).map((f) => badNumber(12).map((v): Partial<Hostile> => ({ [f]: v }))),
      fc.uint8Array({ maxLength: 100 }).map((a): Partial<Hostile> => ({ name: Buffer.from(a) })),
      fc.uint8Array({ maxLength: 100 }).map((a): Partial<Hostile> => ({ linkname: Buffer.from(a) })),
      fc.uint8Array({ maxLength: 155 }).map((a): Partial<Hostile> => ({ prefix: Buffer.from(a) })),
      fc
        .oneof(
          fc.constantFrom(...'89xgLKSAD\0'),
          fc.nat(255).map((n) => String.fromCharCode(n)),
        )
        .map((flag): Partial<Hostile> => ({ flag })),
      fc.constantFrom('ustar  \0', '\0\0\0\0\0\0\0\0').map((magic): Partial<Hostile> => ({ magic })),
      fc.record({ records: fc.array(fc.oneof(goodRecord, badRecord), { minLength: 1, maxLength: 4 }), global: fc.boolean() }).map((pax): Partial<Hostile> => ({ pax })),
    );
    return fc.array(override, { maxLength: 2 }).map((os) => Object.assign({}, h, ...os) as Hostile);
  });

function hostileBytes(x: Hostile): Buffer {
  const parts: Buffer[] = [];
  if (x.pax) {
    const body = Buffer.concat(x.pax.records);
    parts.push(ustarHeader({ name: Buffer.from('PaxHeaders/x'), mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, flag: x.pax.global ? 'g' : 'x' }), padded(body));
  }
  const h = Buffer.alloc(BLOCK);
  x.name.copy(h, 0, 0, 100);
  x.mode.copy(h, 100, 0, 8);
  x.uid.copy(h, 108, 0, 8);
  x.gid.copy(h, 116, 0, 8);
  x.size.copy(h, 124, 0, 12);
  x.mtime.copy(h, 136, 0, 12);
  h.write(x.flag, 156, 'latin1');
  x.linkname.copy(h, 157, 0, 100);
  h.write(x.magic, 257, 'latin1');
  x.devmajor.copy(h, 329, 0, 8);
  x.devminor.copy(h, 337, 0, 8);
  x.prefix.copy(h, 345, 0, 155);
  parts.push(seal(h), padded(x.body));
  return Buffer.concat(parts);
}
