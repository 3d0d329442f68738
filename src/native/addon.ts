/**
 * The agent's small Node-API addon (src/native/*.c): extended attributes and whole-file
 * locks, which Node lacks, and SHA-256 on the thread pool. In the single executable the addon travels as an
 * asset and is written, content-addressed, to a directory the caller names on an
 * exec-capable filesystem (next to the store, on the persistent partition) before loading;
 * in development KAIROS_SPEGEL_NATIVE_ADDON names the built file (npm run build makes it).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import type { Root } from '../fs/root.ts';

export interface NativeAddon {
  setLinkXattr(path: string, name: string, value: Buffer): void;
  sha256New(): Sha256Handle;
  /** Hashes bytes [from, to) of the open file `fd`, on the thread pool. */
  sha256File(handle: Sha256Handle, fd: number, from: number, to: number): Promise<void>;
  /** The hex digest so far; the state goes on. */
  sha256Hex(handle: Sha256Handle): string;
  /** flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another open file holds it. */
  flockTry(fd: number): boolean;
}

declare const handleBrand: unique symbol;
export type Sha256Handle = { readonly [handleBrand]: true };

let loaded: NativeAddon | undefined;

/** Where the single executable writes the addon on a node: next to the store, on the persistent partition. */
export function addonDir(root: Root, storePath: string): string {
  return root.path(path.posix.join(path.posix.dirname(storePath), 'lib'));
}

function seaAsset(): Buffer | undefined {
  // node:sea exists in Node 22; outside a single executable isSea() is false.
  const sea = process.getBuiltinModule('node:sea');
  return sea.isSea() ? Buffer.from(sea.getRawAsset('native.node')) : undefined;
}

function extract(bytes: Buffer, dir: string): string {
  const file = path.join(dir, `native-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.node`);
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
export function nativeAddon(dir: string): NativeAddon {
  if (loaded) return loaded;
  const asset = seaAsset();
  const file = asset ? extract(asset, dir) : process.env['KAIROS_SPEGEL_NATIVE_ADDON'];
  if (!file) throw new AgentError('E_NATIVE', 'the native addon is missing from this build', { hint: "run 'npm run build' (it builds the addon), or set KAIROS_SPEGEL_NATIVE_ADDON" });
  const mod = { exports: {} as NativeAddon };
  try {
    process.dlopen(mod, file);
  } catch (err) {
    throw new AgentError('E_NATIVE', `cannot load ${file}: ${(err as Error).message}`, { hint: `the directory ${dir} must be on a filesystem that allows executables (not noexec)` });
  }
  loaded = mod.exports;
  return loaded;
}
