// Start-up cost of the agent at boot: `configure --dry-run` (config collection, node facts,
// planning; no network) against `--version` and a bare `node -e 0` of the same Node, each
// timed by hyperfine (30 runs after 3 warm-ups). Writes the medians to BENCHMARKS.md.
// Targets (issue #2): configure --dry-run median <= 150 ms and <= 3x node -e 0.
// Run: npm run bench:startup
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { machine, writeSection } from './machine.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const AGENT = path.join(ROOT, 'dist/kairos-spegel');
const RUNS = 30;

const work = mkdtempSync(path.join(tmpdir(), 'ks-bench-'));
try {
  // A node root as on a Kairos node: a cloud-config and an existing user hosts.toml to merge.
  mkdirSync(path.join(work, 'oem'));
  writeFileSync(path.join(work, 'oem/90_custom.yaml'), '#cloud-config\nkairos-spegel:\n  node_ip: 10.0.0.5\n  distro: containerd\n  mirror: {ports: [30020, 30021]}\n');
  mkdirSync(path.join(work, 'etc/containerd/certs.d/_default'), { recursive: true });
  writeFileSync(path.join(work, 'etc/containerd/certs.d/_default/hosts.toml'), '[host."https://cache.example"]\n  capabilities = ["pull"]\n');
  writeFileSync(path.join(work, 'etc/containerd/config.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n');

  const commands = {
    'kairos-spegel configure --dry-run': `${AGENT} --root ${work} --log-level silent configure --dry-run`,
    'kairos-spegel --version': `${AGENT} --version`,
    'node -e 0': `${process.execPath} -e 0`,
  };
  const out = path.join(work, 'hyperfine.json');
  execFileSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(RUNS), '--export-json', out, ...Object.values(commands)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: { median: number; mean: number; stddev: number; min: number; max: number }[] }).results;
  const ms = (s: number) => (s * 1000).toFixed(1);
  const [configure, version, node] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
  const ratio = configure.median / node.median;
  const rows = Object.keys(commands).map((name, i) => {
    const r = results[i]!;
    return `| \`${name}\` | ${ms(r.median)} | ${ms(r.mean)} ± ${ms(r.stddev)} | ${ms(r.min)} | ${ms(r.max)} |`;
  });
  const pass = configure.median * 1000 <= 150 && ratio <= 3;
  const body = [
    '## Start-up: `configure --dry-run` at boot',
    '',
    `Machine: ${machine()}. Node ${process.versions.node} (the Node inside the binary). ${RUNS} runs each after 3 warm-ups, hyperfine \`-N\`.`,
    'Command: `npm run bench:startup` (bench/startup.ts).',
    '',
    '| command | median ms | mean ± σ ms | min ms | max ms |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `configure --dry-run: median ${ms(configure.median)} ms, ${ratio.toFixed(2)}x \`node -e 0\` (target: <= 150 ms and <= 3x): ${pass ? 'met' : 'NOT met'}.`,
    `\`--version\` alone costs ${ms(version.median - node.median)} ms over \`node -e 0\`: the deserialization of the startup snapshot that holds the loaded, warmed-up bundle.`,
  ].join('\n');
  writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'startup', body);
  process.stdout.write(`${body}\n`);
  process.exitCode = pass ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
