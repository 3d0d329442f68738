/**
 * A Kairos operator NodeOp job runs `chroot /host kairos-spegel prepull` in a pod: the
 * node's files, the pod's network namespace. A mirror on the node's loopback cannot be
 * reached from there. Here the agent runs in a test node's namespace (its own loopback) while
 * the hosts.toml names a mirror on this machine's 127.0.0.1: it must say why the mirror is out
 * of reach before going upstream. In the machine's own namespace it says nothing of the kind.
 */
import type { PrepullReport } from '../../src/app/prepull.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { createNode, type TestNode } from '../../testbed/netns.ts';
import { startRegistry, type Registry } from '../../testbed/registry.ts';
import { tempDir } from '../../testbed/tmp.ts';

const WARNING = /mirror on loopback does not answer, and this process may not be in the node.s network namespace/;

describe("prepull outside the node's network namespace (a NodeOp pod)", () => {
  const dir = tempDir('ks-podnet-');
  let node: TestNode;
  let upstream: Registry;
  let mirror: LoopbackRegistry;

  /** A node root whose hosts.toml for `registry` puts the loopback mirror first. */
  function root(name: string, registry: string): string {
    const r = path.join(dir, name);
    mkdirSync(path.join(r, 'etc/containerd/certs.d', registry), { recursive: true });
    writeFileSync(path.join(r, 'etc/containerd/certs.d', registry, 'hosts.toml'), `server = "http://${registry}"\n\n[host."http://${mirror.host}"]\n  capabilities = ["pull", "resolve"]\n`);
    mkdirSync(path.join(r, 'oem'));
    writeFileSync(path.join(r, 'oem/90.yaml'), '#cloud-config\nkairos-spegel:\n  containerd: {socket: /run/none/containerd.sock}\n');
    return r;
  }

  beforeAll(async () => {
    node = await createNode();
    upstream = await startRegistry(node, dir, { host: node.ip, port: 5000 });
    mirror = await startLoopbackRegistry(dir, 'mirror');
    const image = await buildImage(path.join(dir, 'image'), 1, 100_000);
    await pushImage(node, image, `${node.ip}:5000/app:v1`);
    await pushImage(undefined, image, `${mirror.host}/app:v1`);
  }, 180_000);
  afterAll(async () => {
    await mirror?.stop();
    await upstream?.stop();
    await node?.destroy();
  });

  it('in a namespace of its own: warns that the loopback mirror is out of reach, then takes the upstream', async () => {
    const r = await runAgent(['--root', root('pod', `${node.ip}:5000`), '--json', 'prepull', `${node.ip}:5000/app:v1`], { node });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(WARNING);
    expect(r.stderr).toContain(`"mirrors":["http://${mirror.host}"]`);
    const result = JSON.parse(r.stdout) as PrepullReport;
    expect(result.bytes.from_peers).toBe(0);
    expect(result.bytes.from_upstream).toBeGreaterThan(0);
  });

  it("in the node's own namespace: the loopback mirror answers, no warning", async () => {
    const r = await runAgent(['--root', root('host', mirror.host), '--json', 'prepull', `${mirror.host}/app:v1`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(WARNING);
  });
});
