/**
 * `health` against live endpoints inside a test node: a real registry (healthy, exit 0),
 * a closed port (unhealthy, exit 4), real Spegel before it has peers (its /readyz answers
 * 500: degraded, exit 3) and once it has one (healthy), stale and missing configuration,
 * and --wait.
 */
import { EXIT_DEGRADED, EXIT_UNHEALTHY, EXIT_USAGE } from '../../src/errors.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { createNode, type TestNode } from '../../testbed/netns.ts';
import { startContainerd, type Containerd } from '../../testbed/containerd.ts';
import { peerVersion } from '../../testbed/peers.ts';
import { waitFor, type Daemon } from '../../testbed/proc.ts';
import { startSpegel, type Spegel } from '../../testbed/spegel.ts';
import { startRegistry, type Registry } from '../../testbed/registry.ts';
import { tempDir } from '../../testbed/tmp.ts';

interface HealthJson {
  status: string;
  exit_code: number;
  node_ip: string;
  distro: string;
  endpoints: { url: string; state: string; tcp: { ok: boolean }; v2?: { status?: number }; ready?: { path: string; status?: number } }[];
  config: { file: string; state: string }[];
  reasons: string[];
}

describe('health', () => {
  const dir = tempDir('ks-health-');
  let node: TestNode;
  let registry: Registry;
  let ctd: Containerd;
  const daemons: Daemon[] = [];

  /** A node root whose mirror is at `ports`, configured by the agent itself. */
  async function configuredRoot(name: string, ports: number[]): Promise<string> {
    const root = path.join(dir, name);
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    mkdirSync(path.join(root, 'etc/containerd'), { recursive: true });
    writeFileSync(path.join(root, 'oem/90_custom.yaml'), `#cloud-config\nkairos-spegel:\n  distro: containerd\n  mirror:\n    ports: [${ports.join(', ')}]\n`);
    writeFileSync(path.join(root, 'etc/containerd/config.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n');
    const r = await runAgent(['--root', root, 'configure'], { node });
    expect(r.code, r.stderr).toBe(0);
    return root;
  }

  async function health(root: string, extra: string[] = []): Promise<{ code: number | null; json: HealthJson }> {
    const r = await runAgent(['--root', root, '--json', 'health', ...extra], { node });
    return { code: r.code, json: JSON.parse(r.stdout) as HealthJson };
  }

  /** Real Spegel on the node IP, beside the node's containerd; bootstrapping over HTTP from `peer` (another Spegel's bootstrap port), or alone. */
  async function spegel(name: string, registryPort: number, base: number, peer?: number): Promise<Spegel> {
    const sp = await startSpegel(node, path.join(dir, name), ctd, {
      host: node.ip,
      registryPort,
      routerPort: base,
      metricsPort: base + 1,
      bootstrap: { kind: 'http', addr: `${node.ip}:${base + 2}`, ...(peer ? { peer: `http://${node.ip}:${peer}` } : {}) },
    });
    daemons.push(sp);
    return sp;
  }

  beforeAll(async () => {
    node = await createNode();
    registry = await startRegistry(node, dir, { host: node.ip, port: 30020 });
    ctd = await startContainerd(node, dir, undefined);
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop();
    await ctd?.stop();
    await registry?.stop();
    await node?.destroy();
  });

  it('is healthy (exit 0) against a live registry', async () => {
    const { code, json } = await health(await configuredRoot('live', [30020]));
    expect(json.reasons).toEqual([]);
    expect(code).toBe(0);
    expect(json).toMatchObject({ status: 'healthy', exit_code: 0, node_ip: node.ip, distro: 'containerd' });
    expect(json.endpoints).toEqual([
      expect.objectContaining({ url: `http://${node.ip}:30020`, state: 'up', tcp: expect.objectContaining({ ok: true }), v2: expect.objectContaining({ status: 200 }) }),
    ]);
    // A plain registry has no readiness endpoint: not a failure.
    expect(json.endpoints[0]!.ready?.status).toBe(404);
    expect(json.config).toEqual([{ file: '/etc/containerd/certs.d/_default/hosts.toml', state: 'current', detail: null }]);
  });

  it('is unhealthy (exit 4) when the mirror port is closed', async () => {
    const { code, json } = await health(await configuredRoot('closed', [30099]));
    expect(code).toBe(EXIT_UNHEALTHY);
    // A script must tell "the mirror is down" from "you called me wrong".
    const usage = await runAgent(['--json', 'health', '--wait', 'soon'], { node });
    expect(usage.code).toBe(EXIT_USAGE);
    expect(usage.code).not.toBe(code);
    expect(json.status).toBe('unhealthy');
    expect(json.endpoints[0]).toMatchObject({ url: `http://${node.ip}:30099`, state: 'down', tcp: { ok: false } });
    expect(json.reasons.join('\n')).toContain('TCP connect failed');
  });

  it(`real Spegel ${peerVersion('spegel')}: degraded (exit 3) while it has no peer (/readyz 500), healthy once one joins`, async () => {
    const root = await configuredRoot('spegel', [30030]);
    await spegel('spegel-a', 30030, 5010);
    const alone = await health(root);
    expect(alone.code, JSON.stringify(alone.json)).toBe(EXIT_DEGRADED);
    expect(alone.json.status).toBe('degraded');
    expect(alone.json.endpoints[0]).toMatchObject({ state: 'not-ready', v2: { status: 200 }, ready: { path: '/readyz', status: 500 } });

    await spegel('spegel-b', 30031, 5020, 5012);
    const joined = await waitFor(
      'health to see a ready Spegel',
      async () => {
        const h = await health(root);
        return h.code === 0 ? h : undefined;
      },
      60_000,
    );
    expect(joined.json.status).toBe('healthy');
    expect(joined.json.endpoints[0]).toMatchObject({ state: 'up', v2: { status: 200 }, ready: { path: '/readyz', status: 200 } });
  });

  it('is degraded (exit 3) when one of two endpoints is down', async () => {
    const { code, json } = await health(await configuredRoot('half', [30020, 30098]));
    expect(code).toBe(EXIT_DEGRADED);
    expect(json.endpoints.map((e) => e.state)).toEqual(['up', 'down']);
  });

  it('is degraded (exit 3) when hosts.toml no longer names the node IP', async () => {
    const root = await configuredRoot('stale', [30020]);
    writeFileSync(path.join(root, 'oem/91_ip.yaml'), '#cloud-config\nkairos-spegel:\n  node_ip: 10.77.0.99\n');
    const r = await runAgent(['--root', root, '--json', 'health'], { node });
    const json = JSON.parse(r.stdout) as HealthJson;
    // The configured IP now differs from the file: stale config, and nothing answers at .99.
    expect(json.config[0]).toMatchObject({ state: 'stale' });
    expect(r.code).toBe(EXIT_UNHEALTHY);
    // Back to the real IP but a file written for another one: stale only, endpoint up.
    writeFileSync(path.join(root, 'oem/91_ip.yaml'), '#cloud-config\n');
    writeFileSync(path.join(root, 'etc/containerd/certs.d/_default/hosts.toml'), "[host.'http://10.77.0.99:30020']\ncapabilities = ['pull']\n");
    const again = await health(root);
    expect(again.code).toBe(EXIT_DEGRADED);
    expect(again.json.config[0]).toMatchObject({ state: 'stale' });
    expect(again.json.endpoints[0]!.state).toBe('up');
  });

  it('is unhealthy (exit 4) when not configured', async () => {
    const root = path.join(dir, 'empty');
    mkdirSync(path.join(root, 'etc/containerd'), { recursive: true });
    writeFileSync(path.join(root, 'etc/containerd/config.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n');
    const { code, json } = await health(root);
    expect(code).toBe(EXIT_UNHEALTHY);
    expect(json.config[0]).toMatchObject({ state: 'missing' });
  });

  it('--wait gives up at the deadline with the last result', async () => {
    const root = await configuredRoot('wait-closed', [30097]);
    const started = Date.now();
    const r = await runAgent(['--root', root, '--json', 'health', '--wait', '1500ms'], { node });
    expect(r.code).toBe(EXIT_UNHEALTHY);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('--wait polls until the mirror comes up', async () => {
    const root = await configuredRoot('wait', [30032]);
    const late = new Promise<Registry>((resolve) => setTimeout(() => resolve(startRegistry(node, dir, { host: node.ip, port: 30032, name: 'late' })), 1500));
    const started = Date.now();
    const r = await runAgent(['--root', root, '--json', 'health', '--wait', '20s'], { node });
    daemons.push(await late);
    expect(r.code, r.stdout).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect((JSON.parse(r.stdout) as HealthJson).status).toBe('healthy');
  });
});
