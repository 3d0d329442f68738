/**
 * A deterministic tar archive (POSIX ustar) of regular files and directories: entries in
 * the order given, owner root (0:0), one fixed mtime, modes as given. Enough for an image
 * layer, with nothing of the build machine in it (user names, inode order, times).
 */

export interface TarEntry {
  /** path inside the archive, without leading slash; directories end with "/" */
  path: string;
  mode: number;
  /** file content; undefined for a directory */
  data?: Buffer;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL, as ustar wants
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry, mtime: number): Buffer {
  if (Buffer.byteLength(entry.path) > 100) throw new Error(`tar: ${entry.path} is longer than 100 bytes`);
  const h = Buffer.alloc(BLOCK);
  const put = (text: string, offset: number) => h.write(text, offset, 'utf8');
  put(entry.path, 0);
  put(octal(entry.mode, 8), 100);
  put(octal(0, 8), 108); // uid
  put(octal(0, 8), 116); // gid
  put(octal(entry.data?.length ?? 0, 12), 124);
  put(octal(mtime, 12), 136);
  put(' '.repeat(8), 148); // checksum field counts as spaces while summing
  put(entry.data === undefined ? '5' : '0', 156);
  put('ustar\0', 257);
  put('00', 263);
  put('root', 265); // uname
  put('root', 297); // gname
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

export function tar(entries: TarEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e, mtime));
    if (e.data !== undefined) {
      parts.push(e.data);
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return Buffer.concat(parts);
}
