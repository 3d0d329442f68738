/**
 * The Kairos bundle for one architecture: the layer of a `run://` image, as kairos-agent's
 * bundle installer runs it (kairos-sdk bundles/bundles.go: extract, then `run.sh` in that dir),
 *
 *   run.sh       the installer (bundle/run.sh.in)
 *   files.txt    what it installs, "MODE PATH" per line, in install order
 *   payload/     the files, under the paths they get on the node (/usr/local/...)
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Arch } from './arch.ts';
import type { GlibcRuntime } from './glibc.ts';
import { layOutAgent, type TreeFile } from './install-tree.ts';
import { tar, type TarEntry } from './tar.ts';
import { render } from './tools.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const STAGE_FILE = path.join(ROOT, 'stages/kairos-spegel.yaml');

/** The layer (uncompressed tar) of the bundle image for `arch`; `work` is a scratch directory. */
export function bundleLayer(opts: { arch: Arch; version: string; epoch: number; binary: string; glibc: GlibcRuntime; work: string }): Buffer {
  const payload = path.join(opts.work, 'payload');
  rmSync(payload, { recursive: true, force: true });
  const files: TreeFile[] = layOutAgent(payload, '/usr/local', opts.binary, opts.glibc);
  const stageFile: TreeFile = { path: 'usr/local/cloud-config/kairos-spegel.yaml', mode: 0o644 };
  mkdirSync(path.join(payload, path.dirname(stageFile.path)), { recursive: true });
  copyFileSync(STAGE_FILE, path.join(payload, stageFile.path));
  chmodSync(path.join(payload, stageFile.path), stageFile.mode);
  // The stage file last: it runs the launcher, which must be complete by then.
  files.push(stageFile);

  const octal = (mode: number) => mode.toString(8).padStart(4, '0');
  const contents = new Map<string, { mode: number; data: Buffer }>([
    ['run.sh', { mode: 0o755, data: Buffer.from(render(path.join(ROOT, 'bundle/run.sh.in'), { VERSION: opts.version, ARCH: opts.arch.name })) }],
    ['files.txt', { mode: 0o644, data: Buffer.from(files.map((f) => `${octal(f.mode)} ${f.path}\n`).join('')) }],
    ...files.map((f) => [`payload/${f.path}`, { mode: f.mode, data: readFileSync(path.join(payload, f.path)) }] as const),
  ]);
  const dirs = new Set<string>();
  for (const p of contents.keys()) for (let d = path.posix.dirname(p); d !== '.'; d = path.posix.dirname(d)) dirs.add(`${d}/`);
  const entries: TarEntry[] = [...[...dirs].map((d) => ({ path: d, mode: 0o755 })), ...[...contents].map(([p, c]) => ({ path: p, ...c }))];
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return tar(entries, opts.epoch);
}
