// prepull against skopeo on the same image from the same loopback registry: a 1 GiB image
// of 8 layers of incompressible data, each tool into a fresh OCI layout, runs alternating,
// wall time and peak RSS from GNU time. Writes the medians and ratios to BENCHMARKS.md.
// Targets (issue #3): wall-time ratio prepull/skopeo <= 0.8, prepull peak RSS <= 120 MB.
// Run: npm run bench:pull [-- --runs N --layer-mib M]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildImage, pushImage } from '../test/helpers/image.ts';
import { startLoopbackRegistry } from '../test/helpers/loopback-registry.ts';
import { run } from '../test/helpers/proc.ts';
import { machine, writeSection } from './machine.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const AGENT = path.join(ROOT, 'dist/kairos-spegel');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'layer-mib': { type: 'string', default: '128' }, layers: { type: 'string', default: '8' } } });
const RUNS = Number(values.runs);
const LAYERS = Number(values.layers);
const LAYER_MIB = Number(values['layer-mib']);

interface Sample {
  seconds: number;
  rssMb: number;
}

/** Runs a command under GNU time: wall seconds and peak RSS. */
async function timed(cmd: string, args: string[]): Promise<Sample> {
  const r = await run('/usr/bin/time', ['-f', 'TIME %e %M', cmd, ...args], { timeoutMs: 1_800_000 });
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}):\n${r.stdout}\n${r.stderr.slice(-2000)}`);
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from GNU time: ${r.stderr.slice(-500)}`);
  return { seconds: Number(m[1]), rssMb: Number(m[2]) / 1024 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const work = path.join(tmpdir(), 'ks-bench-pull');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const registry = await startLoopbackRegistry(work, 'reg');
try {
  const image = `${registry.host}/bench/upgrade:v1`;
  process.stdout.write(`building a ${LAYERS} x ${LAYER_MIB} MiB image of random data ...\n`);
  await pushImage(undefined, await buildImage(path.join(work, 'img'), LAYERS, LAYER_MIB * 2 ** 20), image);
  rmSync(path.join(work, 'img'), { recursive: true, force: true });

  // The agent's node root: hosts.toml names the registry, no mirror (all from upstream, as skopeo).
  const root = path.join(work, 'root');
  mkdirSync(path.join(root, 'oem'), { recursive: true });
  mkdirSync(path.join(root, 'etc/containerd/certs.d', registry.host), { recursive: true });
  writeFileSync(path.join(root, 'etc/containerd/certs.d', registry.host, 'hosts.toml'), `server = "${registry.url}"\n`);
  writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel:\n  distro: containerd\n');
  const store = path.join(root, 'usr/local/kairos-spegel/store');
  const skopeoDir = path.join(work, 'skopeo-layout');

  const samples = { prepull: [] as Sample[], skopeo: [] as Sample[] };
  for (let i = 0; i < RUNS; i++) {
    for (const tool of i % 2 === 0 ? (['prepull', 'skopeo'] as const) : (['skopeo', 'prepull'] as const)) {
      rmSync(store, { recursive: true, force: true });
      rmSync(skopeoDir, { recursive: true, force: true });
      await run('sync', []);
      const s =
        tool === 'prepull'
          ? await timed(AGENT, ['--root', root, '--log-level', 'warn', 'prepull', image])
          : await timed('skopeo', ['copy', '--src-tls-verify=false', `docker://${image}`, `oci:${skopeoDir}:upgrade`]);
      samples[tool].push(s);
      process.stdout.write(`run ${i + 1} ${tool}: ${s.seconds.toFixed(2)} s, ${s.rssMb.toFixed(0)} MB peak RSS\n`);
    }
  }
  const t = { prepull: median(samples.prepull.map((s) => s.seconds)), skopeo: median(samples.skopeo.map((s) => s.seconds)) };
  const rss = { prepull: Math.max(...samples.prepull.map((s) => s.rssMb)), skopeo: Math.max(...samples.skopeo.map((s) => s.rssMb)) };
  const ratio = t.prepull / t.skopeo;
  const sizeGiB = (LAYERS * LAYER_MIB) / 1024;
  const pass = ratio <= 0.8 && rss.prepull <= 120;
  const skopeoVersion = (await run('skopeo', ['--version'])).stdout.trim();
  const body = [
    '## Pull: `prepull` against `skopeo copy`',
    '',
    `Machine: ${machine()}. Image: ${LAYERS} layers x ${LAYER_MIB} MiB of random data (${sizeGiB.toFixed(2)} GiB), on a loopback docker-registry 2.8;`,
    `each tool into a fresh OCI layout on the same disk, ${RUNS} runs each, alternating; wall time and peak RSS by GNU time. ${skopeoVersion}.`,
    'Command: `npm run bench:pull` (bench/pull.ts).',
    '',
    '| tool | median wall s | runs (s) | peak RSS MB |',
    '|---|---|---|---|',
    `| \`kairos-spegel prepull\` | ${t.prepull.toFixed(2)} | ${samples.prepull.map((s) => s.seconds.toFixed(2)).join(', ')} | ${rss.prepull.toFixed(0)} |`,
    `| \`skopeo copy docker:// oci:\` | ${t.skopeo.toFixed(2)} | ${samples.skopeo.map((s) => s.seconds.toFixed(2)).join(', ')} | ${rss.skopeo.toFixed(0)} |`,
    '',
    `Wall-time ratio prepull/skopeo: ${ratio.toFixed(2)} (target <= 0.8); prepull peak RSS ${rss.prepull.toFixed(0)} MB (target <= 120 MB): ${pass ? 'met' : 'NOT met'}.`,
  ].join('\n');
  writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'pull', body);
  process.stdout.write(`${body}\n`);
  process.exitCode = pass ? 0 : 1;
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
