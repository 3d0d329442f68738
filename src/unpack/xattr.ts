/**
 * Extended attributes through the agent's small Node-API addon (src/native/xattr.c):
 * Node has none. In the single executable the addon travels as an asset and is written,
 * content-addressed, to a directory the caller names on an exec-capable filesystem
 * (next to the store, on the persistent partition) before loading; in development
 * KAIROS_SPEGEL_XATTR_ADDON names the built file (npm run build makes it).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../errors.ts';

export interface XattrApi {
  setLinkXattr(path: string, name: string, value: Buffer): void;
  getLinkXattrs(path: string): Record<string, Buffer>;
}

let loaded: XattrApi | undefined;

function seaAsset(): Buffer | undefined {
  // node:sea exists in Node 22; outside a single executable isSea() is false.
  const sea = process.getBuiltinModule?.('node:sea') as typeof import('node:sea') | undefined;
  return sea?.isSea() ? Buffer.from(sea.getRawAsset('xattr.node') as ArrayBuffer) : undefined;
}

function extract(bytes: Buffer, dir: string): string {
  const file = path.join(dir, `xattr-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.node`);
  try {
    if (readFileSync(file).equals(bytes)) return file;
  } catch {
    // not there yet
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o755 });
  renameSync(tmp, file);
  return file;
}

/** The addon, loaded once; `dir` is where the single executable may write it. */
export function xattrs(dir: string): XattrApi {
  if (loaded) return loaded;
  const asset = seaAsset();
  const file = asset ? extract(asset, dir) : process.env['KAIROS_SPEGEL_XATTR_ADDON'];
  if (!file) throw new AgentError('E_XATTR', 'extended attribute support is missing from this build', { hint: "run 'npm run build' (it builds the addon), or set KAIROS_SPEGEL_XATTR_ADDON" });
  const mod = { exports: {} as XattrApi };
  try {
    process.dlopen(mod, file);
  } catch (err) {
    throw new AgentError('E_XATTR', `cannot load ${file}: ${(err as Error).message}`, { hint: `the directory ${dir} must be on a filesystem that allows executables (not noexec)` });
  }
  loaded = mod.exports;
  return loaded;
}
