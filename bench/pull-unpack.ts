// Pull plus unpack: `prepull --unpack` against `skopeo copy` followed by `umoci unpack`,
// on the same 1 GiB image (8 layers of incompressible data) from the same loopback
// registry, runs alternating; the pair's wall time is the sum of its two commands, its
// peak RSS the larger. Writes the medians and ratio to BENCHMARKS.md.
// Targets (issue #4): wall-time ratio <= 0.7, peak RSS <= 150 MB.
// Run: npm run bench:unpack [-- --runs N --layer-mib M]
import { rmSync } from 'node:fs';
import path from 'node:path';
import { run } from '../test/helpers/proc.ts';
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
    },
    async () => {
      for (const d of [path.join(home, 'store'), path.join(home, 'staging'), skopeoDir, bundle]) rmSync(d, { recursive: true, force: true });
      await run('sync', []);
    },
  );
  const ours = samples['agent']!;
  const theirs = samples['skopeo+umoci']!;
  const t = { ours: median(ours.map((s) => s.seconds)), theirs: median(theirs.map((s) => s.seconds)) };
  const rss = { ours: Math.max(...ours.map((s) => s.rssMb)), theirs: Math.max(...theirs.map((s) => s.rssMb)) };
  const ratio = t.ours / t.theirs;
  const pass = ratio <= 0.7 && rss.ours <= 150;
  const versions = `${(await run('skopeo', ['--version'])).stdout.trim()}, ${(await run('umoci', ['--version'])).stdout.trim()}`;
  const body = [
    '## Pull and unpack: `prepull --unpack` against `skopeo copy` + `umoci unpack`',
    '',
    `Machine: ${machine()}. Image: ${imageDescription(LAYERS, LAYER_MIB)};`,
    `each side from scratch (store and rootfs removed, then sync), ${RUNS} runs each, alternating; wall time and peak RSS by GNU time;`,
    `skopeo+umoci is the sum of the two commands and the larger RSS. ${versions}.`,
    'Command: `npm run bench:unpack` (bench/pull-unpack.ts).',
    '',
    '| tool | median wall s | runs (s) | peak RSS MB |',
    '|---|---|---|---|',
    `| \`kairos-spegel prepull --unpack\` | ${t.ours.toFixed(2)} | ${ours.map((s) => s.seconds.toFixed(2)).join(', ')} | ${rss.ours.toFixed(0)} |`,
    `| \`skopeo copy\` + \`umoci unpack\` | ${t.theirs.toFixed(2)} | ${theirs.map((s) => s.seconds.toFixed(2)).join(', ')} | ${rss.theirs.toFixed(0)} |`,
    '',
    `Wall-time ratio: ${ratio.toFixed(2)} (target <= 0.7); peak RSS ${rss.ours.toFixed(0)} MB (target <= 150 MB): ${pass ? 'met' : 'NOT met'}.`,
  ].join('\n');
  writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'unpack', body);
  process.stdout.write(`${body}\n`);
  process.exitCode = pass ? 0 : 1;
} finally {
  await bed.close();
}
