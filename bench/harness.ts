/**
 * Shared by the pull benchmarks: a loopback registry holding a large image of random
 * data, a node root whose hosts.toml names it, timing under GNU time, medians.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildImage, pushImage } from '../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../testbed/loopback-registry.ts';
import { run } from '../testbed/proc.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const AGENT = path.join(ROOT, 'dist/kairos-spegel');

/** The pull benchmarks' command line: `--runs`, `--layers`, `--layer-mib`. */
export function imageBenchArgs(): { runs: number; layers: number; layerMiB: number } {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'layer-mib': { type: 'string', default: '128' }, layers: { type: 'string', default: '8' } } });
  return { runs: Number(values.runs), layers: Number(values.layers), layerMiB: Number(values['layer-mib']) };
}

/** The bench image, as BENCHMARKS.md describes it. */
export function imageDescription(layers: number, layerMiB: number): string {
  return `${layers} layers x ${layerMiB} MiB of random data (${((layers * layerMiB) / 1024).toFixed(2)} GiB), on a loopback docker-registry 2.8`;
}

export interface Sample {
  seconds: number;
  rssMb: number;
}

/** Runs a command under GNU time: wall seconds and peak RSS. */
export async function timed(cmd: string, args: string[]): Promise<Sample> {
  const r = await run('/usr/bin/time', ['-f', 'TIME %e %M', cmd, ...args], { timeoutMs: 1_800_000 });
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}):\n${r.stdout}\n${r.stderr.slice(-2000)}`);
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from GNU time: ${r.stderr.slice(-500)}`);
  return { seconds: Number(m[1]), rssMb: Number(m[2]) / 1024 };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface Bed {
  work: string;
  registry: LoopbackRegistry;
  image: string;
  /** The agent's node root (hosts.toml names the registry; no mirror: all from upstream, as skopeo). */
  root: string;
  close(): Promise<void>;
}

export async function benchBed(name: string, layers: number, layerMiB: number): Promise<Bed> {
  const work = path.join(tmpdir(), `ks-bench-${name}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const registry = await startLoopbackRegistry(work, 'reg');
  const image = `${registry.host}/bench/upgrade:v1`;
  process.stdout.write(`building a ${layers} x ${layerMiB} MiB image of random data ...\n`);
  await pushImage(undefined, await buildImage(path.join(work, 'img'), layers, layerMiB * 2 ** 20), image);
  rmSync(path.join(work, 'img'), { recursive: true, force: true });
  const root = path.join(work, 'root');
  mkdirSync(path.join(root, 'oem'), { recursive: true });
  mkdirSync(path.join(root, 'etc/containerd/certs.d', registry.host), { recursive: true });
  writeFileSync(path.join(root, 'etc/containerd/certs.d', registry.host, 'hosts.toml'), `server = "${registry.url}"\n`);
  writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel:\n  distro: containerd\n  pull: {seed: false}\n');
  return {
    work,
    registry,
    image,
    root,
    async close() {
      await registry.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Runs `a` and `b` alternately `runs` times, after `reset` each time. */
export async function alternate(runs: number, tools: Record<string, () => Promise<Sample>>, reset: () => Promise<void>): Promise<Record<string, Sample[]>> {
  const names = Object.keys(tools);
  const out: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    for (const name of i % 2 === 0 ? names : [...names].reverse()) {
      await reset();
      const s = await tools[name]!();
      out[name]!.push(s);
      process.stdout.write(`run ${i + 1} ${name}: ${s.seconds.toFixed(2)} s, ${s.rssMb.toFixed(0)} MB peak RSS\n`);
    }
  }
  return out;
}
