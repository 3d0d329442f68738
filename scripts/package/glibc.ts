/**
 * The glibc the agent is shipped with. Node's binary is linked against glibc, but Kairos'
 * Hadron and Alpine flavors are musl systems, so the agent carries its own loader and
 * libraries (from this Debian 12 build machine) and is always started through that loader:
 * it then runs the same on glibc and musl hosts, whatever glibc the host has.
 */
import { chmodSync, copyFileSync, existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { Arch } from './arch.ts';
import { PackageError, requireTool, runTool } from './tools.ts';

export interface GlibcRuntime {
  /** file name of the dynamic loader, e.g. ld-linux-x86-64.so.2 */
  loader: string;
  /** every library the binary needs, directly or through another library, with the loader */
  libs: { name: string; source: string }[];
}

/** Resolves what `binary` needs from the arch's library directories, as its loader would. */
export function resolveGlibc(binary: string, arch: Arch): GlibcRuntime {
  const readelf = requireTool('readelf', 'binutils');
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(runTool(readelf, ['-lW', binary]))?.[1];
  if (interp === undefined) throw new PackageError(`${binary} has no program interpreter`, 'it must be a dynamically linked executable; rebuild it with npm run build');
  const loader = path.basename(interp);
  const needed = (file: string) => [...runTool(readelf, ['-dW', file]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);

  const libs = new Map<string, string>();
  const queue = [loader, ...needed(binary)];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (libs.has(name)) continue;
    const source = arch.libDirs.map((d) => path.join(d, name)).find((f) => existsSync(f));
    if (source === undefined) throw new PackageError(`${name} (needed by the ${arch.name} binary) is not in ${arch.libDirs.join(' or ')}`, `apt-get install ${arch.libPackages}`);
    libs.set(name, source);
    queue.push(...needed(source));
  }
  return { loader, libs: [...libs].map(([name, source]) => ({ name, source })).sort((a, b) => a.name.localeCompare(b.name)) };
}

/** Copies the libraries into `dir` under the names the binary asks for (no symlinks). */
export function copyGlibc(runtime: GlibcRuntime, dir: string): { name: string; mode: number }[] {
  return runtime.libs.map(({ name, source }) => {
    const mode = name === runtime.loader ? 0o755 : 0o644; // the launcher executes the loader
    copyFileSync(realpathSync(source), path.join(dir, name));
    chmodSync(path.join(dir, name), mode);
    return { name, mode };
  });
}
