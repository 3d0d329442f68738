/** The partition table of a GPT disk image (UEFI spec, "GUID Partition Table"), read directly. */
import { closeSync, openSync, readSync } from 'node:fs';

export interface GptPartition {
  /** partition type GUID, lower case */
  type: string;
  uuid: string;
  offset: number;
  size: number;
}

const SECTOR = 512; // what systemd-repart uses for image files

/** A GUID as stored on disk: the first three fields little-endian, the rest as bytes. */
function guid(b: Buffer): string {
  const hex = (buf: Buffer) => buf.toString('hex');
  const le = (start: number, len: number) => hex(Buffer.from(b.subarray(start, start + len)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

export function readGpt(file: string): GptPartition[] {
  const fd = openSync(file, 'r');
  try {
    const read = (offset: number, length: number) => {
      const b = Buffer.alloc(length);
      readSync(fd, b, 0, length, offset);
      return b;
    };
    const header = read(SECTOR, 92);
    if (header.toString('latin1', 0, 8) !== 'EFI PART') throw new Error(`${file}: no GPT header`);
    const entriesAt = Number(header.readBigUInt64LE(72)) * SECTOR;
    const count = header.readUInt32LE(80);
    const size = header.readUInt32LE(84);
    const parts: GptPartition[] = [];
    for (let i = 0; i < count; i++) {
      const e = read(entriesAt + i * size, size);
      const type = guid(e.subarray(0, 16));
      if (type === '00000000-0000-0000-0000-000000000000') continue;
      const first = Number(e.readBigUInt64LE(32));
      const last = Number(e.readBigUInt64LE(40));
      parts.push({ type, uuid: guid(e.subarray(16, 32)), offset: first * SECTOR, size: (last - first + 1) * SECTOR });
    }
    return parts;
  } finally {
    closeSync(fd);
  }
}
