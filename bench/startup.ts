// Start-up cost of the agent at boot: `configure --dry-run` (config collection, node facts,
// planning; no network) against `--version` and a bare `node -e 0` of the same Node, each
// timed by hyperfine (30 runs after 3 warm-ups). Writes the medians to BENCHMARKS.md.
// Targets (issue #2): configure --dry-run median <= 150 ms and <= 3x node -e 0.
// With --baseline BINARY (an agent built from an earlier commit), that binary's
// `configure --dry-run` runs in the same hyperfine run, so a change's start-up cost is a ratio
// of two medians measured side by side (issue #15: within 10%).
// Run: npm run bench:startup [-- --baseline /path/to/old/dist/kairos-spegel]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildName, machine, writeSection } from './machine.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const AGENT = path.join(ROOT, 'dist/kairos-spegel');
const RUNS = 30;
const { baseline } = parseArgs({ options: { baseline: { type: 'string' } } }).values;
const baselineName = baseline && buildName(baseline);

const work = mkdtempSync(path.join(tmpdir(), 'ks-bench-'));
try {
  // A node root as on a Kairos node: a cloud-config and an existing user hosts.toml to merge.
  mkdirSync(path.join(work, 'oem'));
  writeFileSync(path.join(work, 'oem/90_custom.yaml'), '#cloud-config\nkairos-spegel:\n  node_ip: 10.0.0.5\n  distro: containerd\n  mirror: {ports: [30020, 30021]}\n');
  mkdirSync(path.join(work, 'etc/containerd/certs.d/_default'), { recursive: true });
  writeFileSync(path.join(work, 'etc/containerd/certs.d/_default/hosts.toml'), '[host."https://cache.example"]\n  capabilities = ["pull"]\n');
  writeFileSync(path.join(work, 'etc/containerd/config.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n');

  const configureArgs = `--root ${work} --log-level silent configure --dry-run`;
  const commands: [string, string][] = [
    ['kairos-spegel configure --dry-run', `${AGENT} ${configureArgs}`],
    ...(baseline ? [['baseline: kairos-spegel configure --dry-run', `${baseline} ${configureArgs}`] as [string, string]] : []),
    ['kairos-spegel --version', `${AGENT} --version`],
    ['node -e 0', `${process.execPath} -e 0`],
  ];
  const out = path.join(work, 'hyperfine.json');
  execFileSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(RUNS), '--export-json', out, ...commands.map(([, cmd]) => cmd)], { stdio: ['ignore', 'ignore', 'inherit'] });
  type Result = { median: number; mean: number; stddev: number; min: number; max: number };
  const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: Result[] }).results;
  const byName = new Map(commands.map(([name], i) => [name, results[i]!]));
  const ms = (s: number) => (s * 1000).toFixed(1);
  const configure = byName.get('kairos-spegel configure --dry-run')!;
  const version = byName.get('kairos-spegel --version')!;
  const node = byName.get('node -e 0')!;
  const before = byName.get('baseline: kairos-spegel configure --dry-run');
  const ratio = configure.median / node.median;
  const rows = [...byName].map(([name, r]) => `| \`${name}\` | ${ms(r.median)} | ${ms(r.mean)} ± ${ms(r.stddev)} | ${ms(r.min)} | ${ms(r.max)} |`);
  const absolute = configure.median * 1000 <= 150 && ratio <= 3;
  const change = before ? configure.median / before.median : 1;
  const pass = absolute && change <= 1.1;
  const body = [
    '## Start-up: `configure --dry-run` at boot',
    '',
    `Machine: ${machine()}. Node ${process.versions.node} (the Node inside the binary). ${RUNS} runs each after 3 warm-ups, hyperfine \`-N\`.`,
    before
      ? 'Command: `npm run bench:startup -- --baseline OLD/dist/kairos-spegel` (bench/startup.ts), OLD a checkout of the earlier commit built with `npm ci && npm run build`.'
      : 'Command: `npm run bench:startup` (bench/startup.ts).',
    '',
    '| command | median ms | mean ± σ ms | min ms | max ms |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `configure --dry-run: median ${ms(configure.median)} ms, ${ratio.toFixed(2)}x \`node -e 0\` (target: <= 150 ms and <= 3x): ${absolute ? 'met' : 'NOT met'}.`,
    ...(before
      ? [
          `Against the same command of a binary built at ${baselineName}, measured right after it by the same hyperfine run: ${change.toFixed(3)}x its median (target: at most 1.10x): ${change <= 1.1 ? 'met' : 'NOT met'}.`,
        ]
      : []),
    `\`--version\` alone costs ${ms(version.median - node.median)} ms over \`node -e 0\`: the deserialization of the startup snapshot that holds the loaded, warmed-up bundle.`,
  ].join('\n');
  writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'startup', body);
  process.stdout.write(`${body}\n`);
  process.exitCode = pass ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
