/** Where a benchmark ran, and how its results land in BENCHMARKS.md. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  let distro = 'Linux';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // keep the generic name
  }
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${distro}, kernel ${os.release()}`;
}

/** Replaces the text between `<!-- name:begin -->` and `<!-- name:end -->` in `file`, or appends it. */
export function writeSection(file: string, name: string, body: string): void {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  let text = '# Benchmarks\n';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // a new file
  }
  const block = `${begin}\n${body.trimEnd()}\n${end}`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  writeFileSync(file, i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`);
}

/** Names a build by the commit of the checkout holding `file` (`commit abc1234`), else by its path. */
export function buildName(file: string): string {
  try {
    return `commit ${execFileSync('git', ['-C', path.dirname(file), 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}`;
  } catch {
    return file;
  }
}
