/**
 * dial_timeout on the real containerd 2.2: the mirror addresses that `configure` writes
 * (the node IP, both chart ports) drop every packet, as a node whose Spegel is gone
 * behind a firewall does. A dropped SYN is never refused; without the hosts.toml
 * dial_timeout containerd waits its default 30 s for each dial, with it 200 ms, then
 * falls back to the registry.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { startContainerd, type Containerd } from '../../testbed/containerd.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { createNode, type TestNode } from '../../testbed/netns.ts';
import { defaultContainerd } from '../../testbed/peers.ts';
import { must, run } from '../../testbed/proc.ts';
import { startRegistry, type Registry } from '../../testbed/registry.ts';
import { tempDir } from '../../testbed/tmp.ts';

const UPSTREAM = '127.0.0.1:5101';
/** containerd's dial timeout when hosts.toml sets none (core/remotes/docker/registry.go, DefaultHTTPTransport). */
const DEFAULT_DIAL_MS = 30_000;

describe(`dial_timeout on ${defaultContainerd().label}, with the mirror's packets dropped`, () => {
  const dir = tempDir('ks-dial-');
  const root = path.join(dir, 'root');
  const hostsDir = path.join(root, 'etc/containerd/certs.d');
  let node: TestNode;
  let upstream: Registry;
  let ctd: Containerd;

  const inNode = (cmd: string, args: string[]) => node.exec(cmd, args);
  async function dropped(): Promise<number> {
    const [c, a] = inNode('nft', ['list', 'chain', 'inet', 'ksdrop', 'out']);
    return Number(/counter packets (\d+)/.exec(await must(c, a))?.[1] ?? NaN);
  }

  beforeAll(async () => {
    node = await createNode();
    upstream = await startRegistry(node, dir, { host: '127.0.0.1', port: 5101, name: 'upstream' });
    mkdirSync(path.join(dir, 'img'));
    await pushImage(node, await buildImage(path.join(dir, 'img'), 2, 100_000), `${UPSTREAM}/kairos/test:v1`);
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel:\n  distro: containerd\n');
    const r = await runAgent(['--root', root, 'configure'], { node });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Every packet to the mirror ports is dropped, counted.
    for (const args of [
      ['add', 'table', 'inet', 'ksdrop'],
      ['add', 'chain', 'inet', 'ksdrop', 'out', '{ type filter hook output priority 0; }'],
      ['add', 'rule', 'inet', 'ksdrop', 'out', 'ip', 'daddr', node.ip, 'tcp', 'dport', '{ 30020, 30021 }', 'counter', 'drop'],
    ]) {
      const [c, a] = inNode('nft', args);
      await must(c, a);
    }
    ctd = await startContainerd(node, dir, hostsDir);
  }, 120_000);

  afterAll(async () => {
    await ctd?.stop();
    await upstream?.stop();
    await node?.destroy();
  });

  it('the mirror address drops packets: a connection neither opens nor is refused', async () => {
    const [c, a] = inNode('bash', ['-c', `exec 3<>/dev/tcp/${node.ip}/30020`]);
    const r = await run(c, a, { timeoutMs: 1500 });
    expect(r.signal).toBe('SIGKILL'); // still waiting when killed
    expect(await dropped()).toBeGreaterThan(0);
  });

  it("containerd gives up on each mirror after configure's 200ms and pulls from the registry", async () => {
    const before = await dropped();
    const started = Date.now();
    const pull = await ctd.ctr(['-n', 'k8s.io', 'images', 'pull', '--plain-http', '--hosts-dir', hostsDir, `${UPSTREAM}/kairos/test:v1`]);
    const elapsed = Date.now() - started;
    expect(pull.code, pull.stdout + pull.stderr).toBe(0);
    expect(await dropped()).toBeGreaterThan(before); // the mirrors were tried
    // Without dial_timeout the first dial alone would take 30 s.
    expect(elapsed).toBeLessThan(DEFAULT_DIAL_MS * 0.66);
  });
});
