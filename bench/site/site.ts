/**
 * A five-node edge site on one machine, every node with real Spegel and containerd 2.2,
 * put through the scenarios, checked against what kairos-spegel promises: the WAN carries the image once (rolling, at once, with a peer
 * killed), five times without the mirror; at once takes little longer than one node's
 * own download; every node's containerd holds the image afterwards. Everything it starts
 * (namespaces, daemons) is gone when it returns, whatever happened.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { agentBuilt } from '../../testbed/agent.ts';
import { writeKairosImage } from '../../testbed/kairos-image.ts';
import { defaultContainerd, peerBinary, peerVersion } from '../../testbed/peers.ts';
import { must, run } from '../../testbed/proc.ts';
import { startRegistry, type Registry } from '../../testbed/registry.ts';
import { RUNNERS, type ScenarioName, type ScenarioResult, type SiteImage } from './scenarios.ts';
import { createSiteNetwork, UPSTREAM_IP, type LinkSpec, type SiteNetwork } from '../../testbed/site/topology.ts';

export interface SiteOptions extends LinkSpec {
  /** Namespace name prefix; two sites with different prefixes can coexist. */
  prefix: string;
  work: string;
  nodes: number;
  /** Compressed size of the upgrade image, in MB (10^6 bytes). */
  imageMb: number;
  scenarios: ScenarioName[];
  log: (line: string) => void;
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
  /** A time ratio: it holds when the machine runs the site alone (bench:site), not beside other work. */
  timing?: boolean;
}

export interface SiteReport {
  options: Omit<SiteOptions, 'log'>;
  /** The real peers every node runs. */
  versions: { spegel: string; containerd: string };
  wan: SiteNetwork['wan'];
  image: SiteImage & { layers: number[] };
  results: ScenarioResult[];
  checks: Check[];
}

const REGISTRY_PORT = 5000;
const INSTALLED = 'v3.6.0';
const TARGET = 'v3.6.1';
/** The image's layers, as shares of its size: a large base, then smaller ones, as OS images are. */
const LAYER_SHARES = [0.4, 0.3, 0.2, 0.1];
const TOOLS = ['docker-registry', 'skopeo', 'nft', 'tc', 'ip', 'curl'];

export async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('the site needs root: it creates network namespaces, shapes their links with tc, counts bytes with nftables and runs containerd; run it with sudo');
  }
  for (const tool of TOOLS) {
    if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing: run 'sudo bash scripts/setup.sh' first`);
  }
  // The peers setup.sh builds: each throws naming setup.sh when missing.
  peerBinary('spegel');
  defaultContainerd();
  agentBuilt();
}

async function publishImage(net: SiteNetwork, work: string, imageMb: number): Promise<SiteReport['image']> {
  const layers = LAYER_SHARES.map((s) => Math.round(s * imageMb * 1e6));
  const layout = writeKairosImage(path.join(work, 'image'), TARGET, layers);
  const ref = `${UPSTREAM_IP}:${REGISTRY_PORT}/kairos/site:${TARGET}`;
  const [cmd, args] = net.upstream.exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}`, `docker://${ref}`]);
  await must(cmd, args, { timeoutMs: 600_000 });
  const [icmd, iargs] = net.upstream.exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  const raw = await must(icmd, iargs);
  const manifest = JSON.parse(raw) as { config: { size: number }; layers: { size: number }[] };
  const [dcmd, dargs] = net.upstream.exec('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`]);
  const digest = (await must(dcmd, dargs)).trim();
  const sizes = manifest.layers.map((l) => l.size);
  return { ref, digest, version: TARGET, size: manifest.config.size + sizes.reduce((a, b) => a + b, 0), biggestBlob: Math.max(...sizes), layers: sizes };
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

function evaluate(results: ScenarioResult[], image: SiteImage): Check[] {
  const checks: Check[] = [];
  const by = (n: ScenarioName) => results.find((r) => r.name === n);
  const wan = (r: ScenarioResult) => r.wanDown + r.wanUp;
  for (const r of results) {
    const failed = r.nodes.filter((n) => n.exit !== 0);
    checks.push({
      what: `${r.name}: every command succeeded`,
      ok: failed.length === 0,
      detail: failed.map((n) => `${n.node}: ${n.error ?? `exit ${n.exit}`}`).join('; ') || `${r.nodes.length} commands`,
    });
    const missing = r.nodes.filter((n) => n.holds === false);
    const held = r.nodes.filter((n) => n.holds === true).length;
    checks.push({
      what: `${r.name}: each node's containerd holds the image`,
      ok: missing.length === 0 && held > 0,
      detail: missing.length > 0 ? `missing on ${missing.map((n) => n.node).join(', ')}` : `${held} nodes`,
    });
    const upgraded = r.nodes.filter((n) => n.applied !== undefined);
    if (upgraded.length > 0) {
      const notApplied = upgraded.filter((n) => !n.applied);
      checks.push({
        what: `${r.name}: kairos-agent wrote the new version to each node's active.img`,
        ok: notApplied.length === 0,
        detail: notApplied.length > 0 ? `not on ${notApplied.map((n) => n.node).join(', ')}` : `${upgraded.length} nodes`,
      });
    }
  }
  for (const n of ['rolling', 'at-once', 'kill'] as const) {
    const r = by(n);
    if (r) checks.push({ what: `${n}: WAN bytes at most 1.05 x the image`, ok: wan(r) <= 1.05 * image.size, detail: `${ratio(wan(r), image.size)} x` });
  }
  const b = by('baseline');
  if (b) {
    const nodes = b.nodes.length;
    checks.push({ what: `baseline: WAN bytes about ${nodes} x the image`, ok: Math.abs(wan(b) / image.size - nodes) <= 0.5, detail: `${ratio(wan(b), image.size)} x` });
  }
  const single = by('single');
  const atOnce = by('at-once');
  if (single && atOnce) {
    const t1 = single.nodes[0]!.seconds;
    checks.push({
      what: 'at-once: total time at most 1.3 x one node alone from the WAN',
      ok: atOnce.totalSeconds <= 1.3 * t1,
      detail: `${atOnce.totalSeconds}s / ${t1}s = ${ratio(atOnce.totalSeconds, t1)} x`,
      timing: true,
    });
  }
  const k = by('kill');
  if (k)
    checks.push({
      what: 'kill: the serving peer was killed half way through, and transfers broke',
      ok: k.marks.some((m) => m.label.endsWith('killed')) && /^[1-9]/.test(k.notes.join(' ')),
      detail: k.notes.join('; '),
    });
  return checks;
}

export async function runSite(opts: SiteOptions): Promise<SiteReport> {
  await checkPrerequisites();
  rmSync(opts.work, { recursive: true, force: true });
  mkdirSync(opts.work, { recursive: true });
  const net = await createSiteNetwork(opts.prefix, opts.nodes, opts);
  let registry: Registry | undefined;
  const stop = () => void net.destroy().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (net.wan.note) opts.log(`WAN: ${net.wan.note}`);
    registry = await startRegistry(net.upstream, opts.work, { host: UPSTREAM_IP, port: REGISTRY_PORT, name: 'upstream' });
    const image = await publishImage(net, opts.work, opts.imageMb);
    opts.log(`upstream image ${image.ref}: ${image.size} bytes, layers ${image.layers.join(', ')}`);
    const env = { net, work: opts.work, image, registry: `${UPSTREAM_IP}:${REGISTRY_PORT}`, installed: INSTALLED, log: opts.log };
    const results: ScenarioResult[] = [];
    for (const name of opts.scenarios) results.push(await RUNNERS[name](env));
    const { log: _log, ...options } = opts;
    return { options, versions: { spegel: peerVersion('spegel'), containerd: defaultContainerd().label }, wan: net.wan, image, results, checks: evaluate(results, image) };
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await registry?.stop();
    await net.destroy();
  }
}
