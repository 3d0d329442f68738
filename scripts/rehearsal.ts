// The main job, rehearsed on this machine with real components and nothing from the
// internet: a test "node" (network namespace with its own IP and default route), an
// upstream registry, a pull-through registry on the node IP standing in for the node's
// Spegel mirror, the agent configuring a rehearsal root, a real containerd pulling an
// image through the hosts.toml the agent wrote, the agent's health report; then two
// "nodes" (two stores) prepulling the same upgrade image through the mirror, node A
// seeding it into the local containerd (as a normal pull would leave it, labels included)
// and upgrading with it: unpacked, versions compared, handed to a stand-in kairos-agent
// (test/fixtures/kairos-agent-standin: kairos-agent cannot run here) that records its
// arguments and checks the rootfs it got. Run as root: npm run rehearsal
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { table } from '../src/cli/output.ts';
import { formatBytes } from '../src/config/units.ts';
import { formatPretty } from '../src/log/pretty.ts';
import { runAgent } from '../test/helpers/agent.ts';
import { startContainerd, type Containerd } from '../test/helpers/containerd.ts';
import { defaultContainerd } from '../test/helpers/peers.ts';
import { buildImage, pushImage } from '../test/helpers/image.ts';
import { kairosRelease, writeKairosImage } from '../test/helpers/kairos-image.ts';
import { createNode, requireRoot, type TestNode } from '../test/helpers/netns.ts';
import { run } from '../test/helpers/proc.ts';
import { startRegistry, type Registry } from '../test/helpers/registry.ts';

const WORK = process.env['REHEARSAL_DIR'] ?? '/tmp/kairos-spegel-rehearsal';
const UPSTREAM = '127.0.0.1:5101';
const IMAGE = `${UPSTREAM}/kairos/rehearsal:v1`;
const UPGRADE = `${UPSTREAM}/kairos/upgrade:v3.6.1`;
const INSTALLED = 'v3.6.0';
const TARGET = 'v3.6.1';
const STANDIN = path.resolve(import.meta.dirname, '../test/fixtures/kairos-agent-standin');

function step(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

function show(text: string): void {
  process.stdout.write(`${text.trimEnd().replace(/^/gm, '   ')}\n`);
}

/** Runs the agent in the node, showing its JSON log lines the way a terminal shows them. */
async function agent(node: TestNode, args: string[]): Promise<number> {
  const r = await runAgent(['--root', path.join(WORK, 'root'), ...args], { node });
  show((r.stdout + r.stderr).split('\n').map((l) => (l.startsWith('{"level"') ? formatPretty(l, false).trimEnd() : l)).join('\n'));
  return r.code ?? 1;
}

async function main(): Promise<number> {
  requireRoot('network namespaces, containerd');
  for (const tool of ['docker-registry', 'containerd', 'ctr', 'skopeo', 'umoci']) {
    if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing: run 'sudo bash scripts/setup.sh' first`);
  }
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(path.join(WORK, 'root/oem'), { recursive: true });

  let node: TestNode | undefined;
  const daemons: (Registry | Containerd)[] = [];
  try {
    step('A node: network namespace with its own IP and default route');
    node = await createNode({ ip: '10.77.0.2' });
    show(`namespace ${node.ns}, eth0 ${node.ip}/24, default via 10.77.0.1`);

    step(`Upstream registry on ${UPSTREAM} (inside the node), with a 2-layer image`);
    const upstream = await startRegistry(node, WORK, { host: '127.0.0.1', port: 5101, name: 'upstream' });
    daemons.push(upstream);
    mkdirSync(path.join(WORK, 'image'));
    await pushImage(node, await buildImage(path.join(WORK, 'image'), 2, 1_000_000), IMAGE);
    show(`pushed ${IMAGE}`);

    step(`The node's mirror on ${node.ip}:30020 (docker-registry in proxy mode, standing in for Spegel)`);
    const mirror = await startRegistry(node, WORK, { host: node.ip, port: 30020, proxy: `http://${UPSTREAM}`, name: 'mirror' });
    daemons.push(mirror);

    step("The node's files: containerd's config.toml (config_path set) and a cloud-config");
    mkdirSync(path.join(WORK, 'root/etc/containerd'), { recursive: true });
    writeFileSync(path.join(WORK, 'root/etc/containerd/config.toml'), `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n`);
    const cloudConfig = `#cloud-config\nkairos-spegel:\n  distro: containerd\n  mirror:\n    ports: [30020]\n  containerd:\n    ctr: ${defaultContainerd().ctr}\n`;
    writeFileSync(path.join(WORK, 'root/oem/90_kairos-spegel.yaml'), cloudConfig);
    show(cloudConfig);

    step('kairos-spegel configure --dry-run');
    await agent(node, ['--log-level', 'warn', 'configure', '--dry-run']);
    step('kairos-spegel configure');
    if ((await agent(node, ['configure'])) !== 0) return 1;
    const hostsDir = path.join(WORK, 'root/etc/containerd/certs.d');

    step('containerd (own root and socket) pulls the image with the hosts dir the agent wrote');
    // containerd's socket where the containerd distribution keeps it, under the node root.
    const ctd = await startContainerd(node, path.join(WORK, 'root/run'), hostsDir);
    daemons.push(ctd);
    const pull = await ctd.ctr(['-n', 'k8s.io', 'images', 'pull', '--plain-http', '--hosts-dir', hostsDir, IMAGE]);
    show(pull.stdout.split('\n').filter((l) => /^(done|unpacking)/.test(l)).join('\n') || pull.stderr);
    if (pull.code !== 0) return 1;

    step('What went through the mirror (its access log)');
    const requests = mirror.requests().filter((l) => l.includes('/kairos/rehearsal/'));
    show(requests.map((l) => l.replace(/ HTTP\/1\.1$/, '')).join('\n'));
    const withNs = requests.filter((l) => l.includes(`ns=${encodeURIComponent(UPSTREAM)}`)).length;
    show(`${requests.length} requests for the image, ${withNs} with ns=${UPSTREAM}; blobs: ${requests.filter((l) => l.includes('/blobs/')).length}`);

    step('kairos-spegel health');
    const health = await agent(node, ['health']);

    step(`Two nodes prepull the upgrade image ${UPGRADE} (10 MB, Kairos ${TARGET}) through the mirror`);
    writeFileSync(path.join(WORK, 'root/etc/kairos-release'), kairosRelease(INSTALLED));
    await pushImage(node, writeKairosImage(path.join(WORK, 'upgrade-image'), TARGET, [10_000_000]), UPGRADE);
    const rows: string[][] = [];
    let wanTotal = 0;
    let direct = 0;
    const nodeConfig = (name: string) =>
      `#cloud-config\nkairos-spegel:\n  store: {path: /usr/local/kairos-spegel/${name}/store}\n  upgrade:\n    staging_path: /usr/local/kairos-spegel/${name}/staging\n    state_file: /usr/local/kairos-spegel/${name}/state.json\n    kairos_agent: ${STANDIN}\n`;
    for (const name of ['node-a', 'node-b']) {
      // Each node has its own store; both use the hosts.toml configure wrote, and seed the local containerd.
      writeFileSync(path.join(WORK, 'root/oem/91_node.yaml'), nodeConfig(name));
      const wanBefore = upstream.bytesServed();
      const r = await runAgent(['--root', path.join(WORK, 'root'), '--json', '--log-level', 'warn', 'prepull', UPGRADE], { node });
      if (r.code !== 0) {
        show(r.stdout + r.stderr);
        return 1;
      }
      const res = JSON.parse(r.stdout) as { transferred: { mirror: number; upstream: number }; seconds: number };
      const wan = upstream.bytesServed() - wanBefore;
      wanTotal += wan;
      direct += res.transferred.upstream;
      rows.push([name, formatBytes(res.transferred.mirror), formatBytes(res.transferred.upstream), formatBytes(wan), `${res.seconds}s`]);
    }
    show(table(['NODE', 'FROM MIRROR (PEERS)', 'FROM UPSTREAM', 'UPSTREAM REGISTRY SENT MEANWHILE', 'TIME'], rows));
    show(`Neither node used the upstream registry itself. The upstream's own log shows ${formatBytes(wanTotal)} sent while the`);
    show('pull-through mirror filled its cache (docker-registry may fetch a blob twice while caching it); with');
    show('Spegel, peers serve only what they hold, and the multi-node site benchmark measures the WAN.');

    step(`containerd now holds ${UPGRADE}, seeded from the store with the labels Spegel advertises by`);
    const seeded = await ctd.ctr(['-n', 'k8s.io', 'content', 'ls']);
    show(seeded.stdout.split('\n').filter((l) => l.includes('distribution.source') && l.includes('kairos/upgrade')).map((l) => l.replace(/\s+/g, ' ')).join('\n'));

    step(`Node A upgrades from Kairos ${INSTALLED} to ${TARGET}: kairos-spegel upgrade (no download: the image is prepulled)`);
    writeFileSync(path.join(WORK, 'root/oem/91_node.yaml'), nodeConfig('node-a'));
    const argsLog = path.join(WORK, 'kairos-agent.args');
    const up = await runAgent(['--root', path.join(WORK, 'root'), 'upgrade', UPGRADE], { node, env: { ...process.env, KAIROS_AGENT_STANDIN_LOG: argsLog } });
    show((up.stdout + up.stderr).split('\n').map((l) => (l.startsWith('{"level"') ? formatPretty(l, false).trimEnd() : l)).join('\n'));
    const called = existsSync(argsLog) ? readFileSync(argsLog, 'utf8').trim().split('\n') : [];
    show(`the stand-in kairos-agent was called as: kairos-agent ${called.filter((l) => !l.startsWith('rootfs-ok')).join(' ')}`);
    show(`and found a root filesystem there: ${called.find((l) => l.startsWith('rootfs-ok')) ?? 'NO'}`);

    step('kairos-spegel status (node A)');
    await agent(node, ['status']);

    step('Result');
    const upgraded = up.code === 0 && called[0] === 'upgrade' && called.some((l) => l.startsWith('rootfs-ok'));
    const ok = requests.length > 0 && withNs === requests.length && health === 0 && direct === 0 && upgraded && seeded.stdout.includes('kairos/upgrade');
    show(
      ok
        ? `OK: containerd pulled ${IMAGE} through the node's mirror; two nodes prepulled ${UPGRADE} from it; node A seeded it and upgraded with it; files are in ${WORK}/root`
        : 'FAILED: see above',
    );
    show(readFileSync(path.join(hostsDir, '_default/hosts.toml'), 'utf8'));
    return ok ? 0 : 1;
  } finally {
    for (const d of daemons.reverse()) await d.stop();
    await node?.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rehearsal: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
