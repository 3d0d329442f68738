/**
 * The installed agent, the same under /usr (sysext) and /usr/local (bundle):
 *
 *   <prefix>/bin/kairos-spegel                   launcher (POSIX sh): execs the shipped loader
 *   <prefix>/lib/kairos-spegel/kairos-spegel     the single executable
 *   <prefix>/lib/kairos-spegel/<loader, libs>    the glibc it runs on (see glibc.ts)
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { copyGlibc, type GlibcRuntime } from './glibc.ts';
import { render } from './tools.ts';

const LAUNCHER_TEMPLATE = path.resolve(import.meta.dirname, '../../sysext/launcher.sh.in');

/** A file of the tree, relative to the root it is laid out under (no leading slash). */
export interface TreeFile {
  path: string;
  mode: number;
}

/**
 * Lays the agent out under `root`/`prefix` and lists its files in install order: the
 * launcher last, so an interrupted install never leaves a launcher without its binary.
 */
export function layOutAgent(root: string, prefix: '/usr' | '/usr/local', binary: string, glibc: GlibcRuntime): TreeFile[] {
  const libDir = `${prefix}/lib/kairos-spegel`;
  const launcher = `${prefix}/bin/kairos-spegel`;
  mkdirSync(path.join(root, libDir), { recursive: true });
  mkdirSync(path.join(root, prefix, 'bin'), { recursive: true });

  copyFileSync(binary, path.join(root, libDir, 'kairos-spegel'));
  chmodSync(path.join(root, libDir, 'kairos-spegel'), 0o755);
  const libs = copyGlibc(glibc, path.join(root, libDir));
  writeFileSync(path.join(root, launcher), render(LAUNCHER_TEMPLATE, { PREFIX: prefix, LIBDIR: libDir, LOADER: glibc.loader }));
  chmodSync(path.join(root, launcher), 0o755);

  const rel = (p: string) => p.slice(1);
  return [{ path: rel(`${libDir}/kairos-spegel`), mode: 0o755 }, ...libs.map((l) => ({ path: rel(`${libDir}/${l.name}`), mode: l.mode })), { path: rel(launcher), mode: 0o755 }];
}
