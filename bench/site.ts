// A five-node edge site with a slow WAN, on this machine (bench/site): rolling upgrade,
// everyone at once, a baseline without the mirror, and a serving peer killed mid-blob.
// Writes the results and a chart (bench/results/site.svg) to BENCHMARKS.md; exits 1 when
// a promise does not hold. Everything it starts is torn down, also on Ctrl-C.
// Run as root: npm run bench:site [-- --image-mb 256 --wan-rate 50mbit --scenarios single,at-once]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machine, writeSection } from './machine.ts';
import { siteChart } from './site/chart.ts';
import { siteMarkdown, siteSummary } from './site/report.ts';
import { SCENARIOS, type ScenarioName } from './site/scenarios.ts';
import { runSite } from './site/site.ts';

const { values } = parseArgs({
  options: {
    'image-mb': { type: 'string', default: '256' },
    nodes: { type: 'string', default: '5' },
    'wan-rate': { type: 'string', default: '50mbit' },
    'wan-delay-ms': { type: 'string', default: '20' },
    'lan-rate': { type: 'string', default: '1gbit' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    work: { type: 'string', default: '/tmp/kairos-spegel-site' },
    'no-write': { type: 'boolean', default: false },
  },
});
const scenarios = values.scenarios.split(',') as ScenarioName[];
const unknown = scenarios.filter((s) => !SCENARIOS.includes(s));
if (unknown.length > 0) {
  process.stderr.write(`bench/site: unknown scenario ${unknown.join(', ')}; choose from ${SCENARIOS.join(', ')}\n`);
  process.exit(2);
}

const ROOT = path.resolve(import.meta.dirname, '..');
try {
  const report = await runSite({
    prefix: 'kssite-',
    work: values.work,
    nodes: Number(values.nodes),
    imageMb: Number(values['image-mb']),
    wanRate: values['wan-rate'],
    wanDelayMs: Number(values['wan-delay-ms']),
    lanRate: values['lan-rate'],
    scenarios,
    log: (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(`\n${siteSummary(report)}\n`);
  if (!values['no-write']) {
    const chart = 'bench/results/site.svg';
    mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(path.join(ROOT, chart), siteChart(report.results, report.image.size));
    writeFileSync(path.join(ROOT, 'bench/results/site.json'), `${JSON.stringify({ ...report, results: report.results.map(({ samples: _s, ...r }) => r) }, null, 2)}\n`);
    const args = process.argv.slice(2);
    const command = `sudo bash scripts/setup.sh && sudo npm run bench:site${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
    writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'site', siteMarkdown(report, machine(), command, chart));
    process.stdout.write(`results: BENCHMARKS.md, ${chart}\n`);
  }
  process.exit(report.checks.every((c) => c.ok) ? 0 : 1);
} catch (err) {
  process.stderr.write(`bench/site: ${(err as Error).message}\n`);
  process.exit(1);
}
