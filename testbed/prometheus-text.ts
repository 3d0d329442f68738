/**
 * The Prometheus text format in tests: promtool (Debian's prometheus package, the project's
 * own checker and linter) judges it, and a small reader takes the samples back out of text
 * promtool has accepted, to compare them with what `status --json` says.
 */
import { run } from './proc.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** `promtool check metrics`: exit 0 and no lint problem, or an error with what it said. */
export async function promtoolCheck(text: string): Promise<void> {
  const r = await run('promtool', ['check', 'metrics'], { input: text }).catch((err: unknown) => {
    throw new Error(`promtool: ${String(err)} (apt-get install prometheus; scripts/setup.sh does)`);
  });
  if (r.code !== 0 || r.stdout + r.stderr !== '') throw new Error(`promtool check metrics (exit ${r.code}):\n${r.stdout}${r.stderr}\n--- input:\n${text}`);
}

const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = unescape(l[2]!);
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with this name whose labels include `labels`; undefined when there is none. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
