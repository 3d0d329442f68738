// Pull plus unpack: `prepull --unpack` against `skopeo copy` followed by `umoci unpack`,
// on the same 1 GiB image (8 layers of incompressible data) from the same loopback
// registry, runs alternating; the pair's wall time is the sum of its two commands, its
// peak RSS the larger. `umoci unpack` also hashes the whole rootfs into an mtree manifest
// and does not sync, while the agent syncs and writes no manifest: the fair pair is
// `umoci raw unpack` (no mtree) followed by `sync` inside its timed region, measured beside
// it. Writes the medians and ratios to BENCHMARKS.md.
// Targets (issue #4): wall-time ratio <= 0.7 (against the plain pair), peak RSS <= 150 MB.
// Run: npm run bench:unpack [-- --runs N --layer-mib M]
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { run } from '../testbed/proc.ts';
import { AGENT, ROOT, alternate, benchBed, imageBenchArgs, imageDescription, median, timed } from './harness.ts';
import { machine, writeSection } from './machine.ts';

const { runs: RUNS, layers: LAYERS, layerMiB: LAYER_MIB } = imageBenchArgs();

const bed = await benchBed('unpack', LAYERS, LAYER_MIB);
try {
  const home = path.join(bed.root, 'usr/local/kairos-spegel');
  const skopeoDir = path.join(bed.work, 'skopeo-layout');
  const bundle = path.join(bed.work, 'umoci-bundle');
  const samples = await alternate(
    RUNS,
    {
      agent: () => timed(AGENT, ['--root', bed.root, '--log-level', 'warn', 'prepull', '--unpack', bed.image]),
      'skopeo+umoci': async () => {
        const copy = await timed('skopeo', ['copy', '--src-tls-verify=false', `docker://${bed.image}`, `oci:${skopeoDir}:upgrade`]);
        const unpack = await timed('umoci', ['unpack', '--image', `${skopeoDir}:upgrade`, bundle]);
        return { seconds: copy.seconds + unpack.seconds, rssMb: Math.max(copy.rssMb, unpack.rssMb) };
      },
      'skopeo+umoci raw+sync': async () => {
        const copy = await timed('skopeo', ['copy', '--src-tls-verify=false', `docker://${bed.image}`, `oci:${skopeoDir}:upgrade`]);
        mkdirSync(bundle, { recursive: true });
        const unpack = await timed('sh', ['-c', 'umoci raw unpack --image "$0" "$1" && sync', `${skopeoDir}:upgrade`, path.join(bundle, 'rootfs')]);
        return { seconds: copy.seconds + unpack.seconds, rssMb: Math.max(copy.rssMb, unpack.rssMb) };
      },
    },
    async () => {
      for (const d of [path.join(home, 'store'), path.join(home, 'staging'), skopeoDir, bundle]) rmSync(d, { recursive: true, force: true });
      await run('sync', []);
    },
  );
  const ours = samples['agent']!;
  const theirs = samples['skopeo+umoci']!;
  const fair = samples['skopeo+umoci raw+sync']!;
  const med = (xs: typeof ours) => median(xs.map((s) => s.seconds));
  const peak = (xs: typeof ours) => Math.max(...xs.map((s) => s.rssMb));
  const t = { ours: med(ours), theirs: med(theirs), fair: med(fair) };
  const ratio = t.ours / t.theirs;
  const pass = ratio <= 0.7 && peak(ours) <= 150;
  const versions = `${(await run('skopeo', ['--version'])).stdout.trim()}, ${(await run('umoci', ['--version'])).stdout.trim()}`;
  const row = (name: string, xs: typeof ours) => `| ${name} | ${med(xs).toFixed(2)} | ${xs.map((s) => s.seconds.toFixed(2)).join(', ')} | ${peak(xs).toFixed(0)} |`;
  const body = [
    '## Pull and unpack: `prepull --unpack` against `skopeo copy` + `umoci unpack`',
    '',
    `Machine: ${machine()}. Image: ${imageDescription(LAYERS, LAYER_MIB)};`,
    `each side from scratch (store and rootfs removed, then sync), ${RUNS} runs each, alternating; wall time and peak RSS by GNU time;`,
    `a skopeo+umoci pair is the sum of its two commands and the larger RSS. ${versions}.`,
    'Command: `npm run bench:unpack` (bench/pull-unpack.ts).',
    '',
    '| tool | median wall s | runs (s) | peak RSS MB |',
    '|---|---|---|---|',
    row('`kairos-spegel prepull --unpack`', ours),
    row('`skopeo copy` + `umoci unpack`', theirs),
    row('`skopeo copy` + `umoci raw unpack` + `sync`', fair),
    '',
    `Wall-time ratio: ${ratio.toFixed(2)} against \`umoci unpack\` (target <= 0.7), ${(t.ours / t.fair).toFixed(2)} against \`umoci raw unpack\` + \`sync\`; peak RSS ${peak(ours).toFixed(0)} MB (target <= 150 MB): ${pass ? 'met' : 'NOT met'}.`,
    '`umoci unpack` also hashes the whole rootfs into an mtree manifest (in `umoci raw unpack` it does not) and leaves its writes',
    'in the page cache, while the agent fsyncs the rootfs before it marks a staging usable and writes no manifest: the raw pair with a',
    '`sync` in its timed region does the same work as the agent.',
  ].join('\n');
  writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'unpack', body);
  process.stdout.write(`${body}\n`);
  process.exitCode = pass ? 0 : 1;
} finally {
  await bed.close();
}
