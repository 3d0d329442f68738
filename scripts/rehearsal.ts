// The main job, rehearsed on this machine with real components and nothing from the
// internet: two nodes (network namespaces on a LAN, each with its own IP) and an upstream
// registry behind a router; on each node its own containerd 2.2 and real Spegel, and the
// agent configuring a node root. containerd on node A pulls an image through the hosts.toml
// the agent wrote (Spegel has no peer holding it: the registry serves it), then node B's
// containerd pulls it from node A through Spegel; `health`; both nodes `prepull` an upgrade
// image, A from the registry, B from A, and A upgrades with it: unpacked, versions compared,
// handed to the real kairos-agent (built by scripts/setup.sh), which writes the new system to
// A's disk (a loop device with COS_STATE and COS_RECOVERY; A's root runs chrooted, booted
// from COS_ACTIVE, testbed/kairos-install.ts): the new active.img holds the new
// version, passive.img the old one.
// Run as root: npm run rehearsal
import type { PrepullReport } from '../src/app/prepull.ts';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { table } from '../src/cli/output.ts';
import { formatBytes } from '../src/util/units.ts';
import { formatPretty } from '../src/log/pretty.ts';
import { createSiteNetwork, UPSTREAM_IP, type SiteHost, type SiteNetwork } from '../testbed/site/topology.ts';
import { runAgent } from '../testbed/agent.ts';
import { startContainerd, type Containerd } from '../testbed/containerd.ts';
import { buildImage, pushImage } from '../testbed/image.ts';
import { kairosRelease, writeKairosImage } from '../testbed/kairos-image.ts';
import { installKairosNode, type InstalledNode } from '../testbed/kairos-install.ts';
import { requireRoot } from '../testbed/netns.ts';
import { defaultContainerd, defaultKairosAgent, peerVersion } from '../testbed/peers.ts';
import { run, waitFor, type Daemon } from '../testbed/proc.ts';
import { startRegistry } from '../testbed/registry.ts';
import { startSpegel, sumSamples, type Spegel } from '../testbed/spegel.ts';

const WORK = process.env['REHEARSAL_DIR'] ?? '/tmp/kairos-spegel-rehearsal';
const UPSTREAM = `${UPSTREAM_IP}:5000`;
const IMAGE = `${UPSTREAM}/kairos/rehearsal:v1`;
const UPGRADE = `${UPSTREAM}/kairos/upgrade:v3.6.1`;
const INSTALLED = 'v3.6.0';
const TARGET = 'v3.6.1';

function step(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

function show(text: string): void {
  process.stdout.write(`${text.trimEnd().replace(/^/gm, '   ')}\n`);
}

const pretty = (text: string) =>
  text
    .split('\n')
    .map((l) => (l.startsWith('{"level"') ? formatPretty(l, false).trimEnd() : l))
    .join('\n');

interface Node {
  name: string;
  host: SiteHost;
  root: string;
  containerd?: Containerd;
  spegel?: Spegel;
}

/** Runs the agent on a node, showing its log lines the way a terminal shows them. */
async function agent(node: Node, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const r = await runAgent(['--root', node.root, ...args], { node: node.host, ...(env ? { env } : {}) });
  show(pretty(r.stdout + r.stderr));
  return r.code ?? 1;
}

/** A Kairos-like node root: containerd's config (config_path set), kairos-release, and the agent's cloud-config. */
function prepareRoot(node: Node): void {
  mkdirSync(path.join(node.root, 'oem'), { recursive: true });
  mkdirSync(path.join(node.root, 'etc/containerd/certs.d', UPSTREAM), { recursive: true });
  writeFileSync(path.join(node.root, 'etc/containerd/config.toml'), `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n`);
  // The user's own file for the plain-HTTP registry: configure puts the mirror before it.
  writeFileSync(path.join(node.root, 'etc/containerd/certs.d', UPSTREAM, 'hosts.toml'), `server = "http://${UPSTREAM}"\n`);
  writeFileSync(path.join(node.root, 'etc/kairos-release'), kairosRelease(INSTALLED));
  writeFileSync(
    path.join(node.root, 'oem/90_kairos-spegel.yaml'),
    `#cloud-config\nkairos-spegel:\n  distro: containerd\n  mirror:\n    ports: [30020]   # Spegel's hostPort; its NodePort needs kube-proxy\n  containerd:\n    ctr: ${defaultContainerd().ctr}\n  upgrade:\n    kairos_agent: ${defaultKairosAgent().binary}\n`,
  );
}

async function main(): Promise<number> {
  requireRoot('network namespaces, containerd, Spegel');
  for (const tool of ['docker-registry', 'skopeo', 'umoci', 'curl', 'nft', 'tc']) {
    if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing: run 'sudo bash scripts/setup.sh' first`);
  }
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });

  let net: SiteNetwork | undefined;
  let installed: InstalledNode | undefined;
  const daemons: Daemon[] = [];
  try {
    step('Two nodes on a LAN, and an upstream registry behind a router');
    net = await createSiteNetwork('ksreh-', 2, { lanRate: '1gbit', wanRate: '100mbit', wanDelayMs: 0 });
    const [a, b]: Node[] = net.nodes.map((host, i) => ({ name: `node ${'AB'[i]}`, host, root: path.join(WORK, `node-${'ab'[i]}/root`) }));
    show(`node A ${a!.host.ip}, node B ${b!.host.ip}, the registry ${UPSTREAM} (namespaces ${net.nodes.map((n) => n.ns).join(', ')}, ${net.upstream.ns})`);
    const upstream = await startRegistry(net.upstream, WORK, { host: UPSTREAM_IP, port: 5000, name: 'upstream' });
    daemons.push(upstream);
    mkdirSync(path.join(WORK, 'image'));
    await pushImage(net.upstream, await buildImage(path.join(WORK, 'image'), 2, 1_000_000), IMAGE);
    show(`pushed ${IMAGE}`);

    step(`Node A is installed with Kairos ${INSTALLED}: a disk with COS_STATE (cOS/active.img) and COS_RECOVERY`);
    installed = await installKairosNode(path.dirname(a!.root), {
      release: kairosRelease(INSTALLED),
      kairosAgent: defaultKairosAgent().binary,
      binds: [path.dirname(defaultContainerd().ctr)],
    });
    show(
      `${installed.disk.device}: ${installed.disk.recovery} COS_RECOVERY, ${installed.disk.state} COS_STATE; active.img says ${(await installed.release('active.img'))?.match(/KAIROS_VERSION="([^"]*)"/)?.[1]}`,
    );

    step("The node's files: containerd's config.toml (config_path set) and a cloud-config");
    for (const n of [a!, b!]) prepareRoot(n);
    show(readFileSync(path.join(a!.root, 'oem/90_kairos-spegel.yaml'), 'utf8'));

    step('kairos-spegel configure --dry-run (node A)');
    await agent(a!, ['--log-level', 'warn', 'configure', '--dry-run']);
    step('kairos-spegel configure (both nodes)');
    for (const n of [a!, b!]) if ((await agent(n, ['configure'])) !== 0) return 1;

    step(`On each node: containerd ${defaultContainerd().label.replace('containerd ', '')} and Spegel ${peerVersion('spegel')} on the node IP, port 30020`);
    for (const [n, peer] of [
      [a!, b!],
      [b!, a!],
    ] as const) {
      // containerd's socket where the containerd distribution keeps it, under the node root.
      n.containerd = await startContainerd(n.host, path.join(n.root, 'run'), path.join(n.root, 'etc/containerd/certs.d'));
      n.spegel = await startSpegel(n.host, path.dirname(n.root), n.containerd, {
        host: n.host.ip,
        registryPort: 30020,
        routerPort: 5001,
        metricsPort: 9090,
        bootstrap: { kind: 'http', addr: `${n.host.ip}:5002`, peer: `http://${peer.host.ip}:5002` },
      });
      daemons.push(n.spegel, n.containerd);
    }
    const ready = async (n: Node) => {
      const [c, args] = n.host.exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${n.spegel!.url}/readyz`]);
      return (await run(c, args)).stdout === '200' || undefined;
    };
    await Promise.all([a!, b!].map((n) => waitFor(`${n.name}'s Spegel to find its peer`, () => ready(n), 60_000)));
    show('both Spegels are ready: each has the other in its routing table');

    const mirrored = async (n: Node) => {
      const m = await n.spegel!.metrics();
      return { hit: sumSamples(m, 'spegel_mirror_requests_total', { registry: UPSTREAM, cache: 'hit' }), miss: sumSamples(m, 'spegel_mirror_requests_total', { registry: UPSTREAM, cache: 'miss' }) };
    };
    const upstreamGets = () => upstream.requests().filter((l) => l.startsWith('GET /v2/kairos/rehearsal/')).length;
    const hostsDir = (n: Node) => path.join(n.root, 'etc/containerd/certs.d');
    for (const n of [a!, b!]) {
      step(`${n.name}'s containerd pulls ${IMAGE} with the hosts dir the agent wrote`);
      const before = { gets: upstreamGets(), asked: await mirrored(n) };
      const pull = await n.containerd!.ctr(['-n', 'k8s.io', 'images', 'pull', '--hosts-dir', hostsDir(n), IMAGE]);
      if (pull.code !== 0) {
        show(pull.stdout + pull.stderr);
        return 1;
      }
      const after = await mirrored(n);
      show(
        `its Spegel was asked ${after.hit + after.miss - before.asked.hit - before.asked.miss} times with ns=${UPSTREAM}: ` +
          `${after.hit - before.asked.hit} found on a peer, ${after.miss - before.asked.miss} not; the registry got ${upstreamGets() - before.gets} GETs`,
      );
    }

    step('kairos-spegel health (node A)');
    const health = await agent(a!, ['health']);

    step(`Both nodes prepull the upgrade image ${UPGRADE} (10 MB, Kairos ${TARGET}), A first`);
    await pushImage(net.upstream, writeKairosImage(path.join(WORK, 'upgrade-image'), TARGET, [10_000_000]), UPGRADE);
    const rows: string[][] = [];
    let bFromUpstream = -1;
    for (const n of [a!, b!]) {
      const wanBefore = upstream.bytesServed();
      const r = await runAgent(['--root', n.root, '--json', '--log-level', 'warn', 'prepull', UPGRADE], { node: n.host });
      if (r.code !== 0) {
        show(r.stdout + r.stderr);
        return 1;
      }
      const res = JSON.parse(r.stdout) as PrepullReport;
      if (n === b) bFromUpstream = res.bytes.from_upstream + (upstream.bytesServed() - wanBefore);
      rows.push([n.name, formatBytes(res.bytes.from_peers), formatBytes(res.bytes.from_upstream), formatBytes(upstream.bytesServed() - wanBefore), `${res.seconds}s`, res.seeded ? 'yes' : 'no']);
    }
    show(table(['NODE', 'FROM PEERS (MIRROR)', 'FROM UPSTREAM', 'REGISTRY SENT MEANWHILE', 'TIME', 'SEEDED'], rows));

    step(`Node A's containerd holds ${UPGRADE}, seeded from the store with the labels Spegel advertises by`);
    const seeded = await a!.containerd!.ctr(['-n', 'k8s.io', 'content', 'ls']);
    show(
      seeded.stdout
        .split('\n')
        .filter((l) => l.includes('distribution.source') && l.includes('kairos/upgrade'))
        .map((l) => l.replace(/\s+/g, ' '))
        .join('\n'),
    );

    step(`Node A upgrades from Kairos ${INSTALLED} to ${TARGET}: kairos-spegel upgrade (no download: the image is prepulled)`);
    const version = await run(defaultKairosAgent().binary, ['version']);
    show(`kairos-agent version: ${version.stdout.trim()}`);
    const up = await installed.kairosSpegel(['upgrade', UPGRADE], { via: (c, args) => a!.host.exec(c, args), timeoutMs: 300_000 });
    show(pretty(up.stdout + up.stderr));
    const versionIn = async (image: 'active.img' | 'passive.img') => (await installed!.release(image))?.match(/KAIROS_VERSION="([^"]*)"/)?.[1];
    const [active, passive] = [await versionIn('active.img'), await versionIn('passive.img')];
    show(`on node A's disk now: cOS/active.img has Kairos ${active ?? 'nothing'}, cOS/passive.img ${passive ?? 'nothing'}`);

    step('kairos-spegel status (node A)');
    await agent(a!, ['status']);

    step('Result');
    const upgraded = up.code === 0 && active === TARGET && passive === INSTALLED;
    const ok = health === 0 && bFromUpstream === 0 && upgraded && seeded.stdout.includes('kairos/upgrade');
    show(
      ok
        ? `OK: both containerds pulled ${IMAGE} through their Spegel (B from A); B prepulled ${UPGRADE} from A alone; A seeded it, and kairos-agent upgraded A's disk with it; files are in ${WORK}`
        : 'FAILED: see above',
    );
    show(readFileSync(path.join(hostsDir(a!), UPSTREAM, 'hosts.toml'), 'utf8'));
    return ok ? 0 : 1;
  } finally {
    for (const d of daemons.reverse()) await d.stop();
    await installed?.destroy();
    await net?.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rehearsal: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
