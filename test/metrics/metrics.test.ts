/**
 * The metrics textfile through the binary: written after the commands that act on the node
 * (never with --dry-run), skipped quietly without node_exporter's directory, one warning and
 * the command's own exit code when it cannot be written, the same text from `metrics`; and on
 * an installed Kairos node with a real registry and the real kairos-agent, scraped after
 * prepull, upgrade and a failed health check: promtool accepts it and its values are those
 * of `status --json`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_UNHEALTHY, EXIT_USAGE } from '../../src/errors.ts';
import { runAgent } from '../../testbed/agent.ts';
import { pushImage } from '../../testbed/image.ts';
import { installKairosNode, type InstalledNode } from '../../testbed/kairos-install.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { requireRoot } from '../../testbed/netns.ts';
import { rawTar, writeImage } from '../../testbed/oci-layout.ts';
import { defaultKairosAgent } from '../../testbed/peers.ts';
import { parseSamples, promtoolCheck, sampleValue, type Sample } from '../../testbed/prometheus-text.ts';
import { tempDir } from '../../testbed/tmp.ts';

const TEXTFILE_DIR = '/var/lib/node_exporter/textfile_collector';
const TEXTFILE = `${TEXTFILE_DIR}/kairos_spegel.prom`;
const release = (v: string) => `KAIROS_ID="kairos"\nKAIROS_VERSION="${v}"\nKAIROS_SOFTWARE_VERSION_PREFIX="k3s"\nKAIROS_SOFTWARE_VERSION="v1.33.4+k3s1"\n`;

function k3sRoot(textfileDir: boolean): string {
  const root = tempDir('ks-metrics-');
  mkdirSync(path.join(root, 'oem'));
  writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {distro: k3s}\n');
  if (textfileDir) mkdirSync(path.join(root, TEXTFILE_DIR), { recursive: true });
  return root;
}

describe('metrics textfile', () => {
  it('is written after health, with the run and its verdict, and `metrics` prints the same text', async () => {
    const root = k3sRoot(true);
    const before = Date.now() / 1000;
    const r = await runAgent(['--root', root, 'health']);
    expect(r.code, r.stderr).toBe(EXIT_UNHEALTHY);
    const text = readFileSync(path.join(root, TEXTFILE), 'utf8');
    await promtoolCheck(text);
    const samples = parseSamples(text);
    expect(sampleValue(samples, 'kairos_spegel_mirror_health')).toBe(2);
    expect(sampleValue(samples, 'kairos_spegel_last_run_success', { command: 'health' })).toBe(0);
    expect(sampleValue(samples, 'kairos_spegel_last_run_exit_code', { command: 'health' })).toBe(EXIT_UNHEALTHY);
    const at = sampleValue(samples, 'kairos_spegel_last_run_timestamp_seconds', { command: 'health' })!;
    expect(at).toBeGreaterThanOrEqual(Math.floor(before));
    expect(at).toBeLessThanOrEqual(Date.now() / 1000);
    const printed = await runAgent(['--root', root, 'metrics']);
    expect(printed.code, printed.stderr).toBe(0);
    // Free space moves with everything else on the disk; the rest is the file's text.
    const stable = (t: string) => t.replace(/^kairos_spegel_store_free_bytes .*$/m, '');
    expect(stable(printed.stdout)).toBe(stable(text));
    expect(existsSync(path.join(root, TEXTFILE)), 'metrics itself is no run to record').toBe(true);
    // A check that reached no verdict leaves none: the last one would read as current.
    expect((await runAgent(['--root', root, 'health', '--wait', 'soon'])).code).toBe(EXIT_USAGE);
    const after = parseSamples((await runAgent(['--root', root, 'metrics'])).stdout);
    expect(sampleValue(after, 'kairos_spegel_mirror_health')).toBeUndefined();
    expect(sampleValue(after, 'kairos_spegel_last_run_exit_code', { command: 'health' })).toBe(EXIT_USAGE);
    const json = await runAgent(['--root', root, '--json', 'metrics']);
    expect(json.code).toBe(EXIT_USAGE);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'E_USAGE' });
  });

  it('without the directory: nothing written, only a debug line; the run is still recorded', async () => {
    const root = k3sRoot(false);
    const r = await runAgent(['--root', root, 'configure']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(root, TEXTFILE_DIR))).toBe(false);
    expect(r.stderr).not.toMatch(/metrics/);
    const debug = await runAgent(['--root', root, '--log-level', 'debug', 'configure']);
    expect(debug.stderr).toMatch(/metrics textfile not written: no such directory/);
    expect(existsSync(path.join(root, TEXTFILE_DIR))).toBe(false);
    mkdirSync(path.join(root, TEXTFILE_DIR), { recursive: true });
    expect((await runAgent(['--root', root, 'metrics'])).stdout).toMatch(/^kairos_spegel_last_run_success\{command="configure"\} 1$/m);
  });

  it('--dry-run writes nothing', async () => {
    const root = k3sRoot(true);
    for (const args of [
      ['configure', '--dry-run'],
      ['gc', '--dry-run'],
    ]) {
      const r = await runAgent(['--root', root, ...args]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(existsSync(path.join(root, TEXTFILE))).toBe(false);
    expect(existsSync(path.join(root, 'usr/local/kairos-spegel/runs'))).toBe(false);
  });

  it('a textfile that cannot be written: one warning, and the command keeps its exit code', async () => {
    const root = k3sRoot(true);
    mkdirSync(path.join(root, TEXTFILE)); // rename(2) cannot replace a directory with a file
    const r = await runAgent(['--root', root, '--json', 'health']);
    expect(r.code).toBe(EXIT_UNHEALTHY);
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: 'kairos-spegel/health/v1', status: 'unhealthy' });
    expect(r.stderr.match(/metrics not recorded/g)).toHaveLength(1);
  });
});

describe('metrics on an installed node: prepull, upgrade, a failed health check', () => {
  const dir = tempDir('ks-metrics-node-');
  let registry: LoopbackRegistry;
  let n: InstalledNode;
  const image = () => `${registry.host}/kairos/os:v3.6.1`;

  beforeAll(async () => {
    requireRoot('kairos-agent upgrades a loop disk from a chroot');
    registry = await startLoopbackRegistry(dir, 'reg');
    const layout = path.join(dir, 'layout');
    writeImage(layout, 'x', [
      {
        tar: rawTar([
          { name: 'etc/', type: 'dir' },
          { name: 'etc/kairos-release', data: release('v3.6.1') },
          { name: 'usr/', type: 'dir' },
          { name: 'usr/bin/', type: 'dir' },
          { name: 'usr/bin/kairos-agent', data: '#!/bin/sh\n', mode: 0o755 },
        ]),
        compression: 'gzip',
      },
    ]);
    await pushImage(undefined, `${layout}:x`, image());
    const agent = defaultKairosAgent().binary;
    n = await installKairosNode(path.join(dir, 'node'), {
      release: release('v3.6.0'),
      kairosAgent: agent,
      kairosSpegel: ['  distro: containerd', '  containerd: {socket: /run/none/containerd.sock}', `  upgrade: {kairos_agent: ${agent}}`],
    });
    n.node.write(`/etc/containerd/certs.d/${registry.host}/hosts.toml`, `server = "${registry.url}"\n`);
    mkdirSync(n.node.path(TEXTFILE_DIR), { recursive: true });
  }, 300_000);
  afterAll(async () => {
    await n?.destroy();
    await registry?.stop();
  });

  /** The textfile as node_exporter would read it, checked by promtool and against `status --json`. */
  async function scrape(): Promise<{ samples: Sample[]; status: any }> {
    const text = readFileSync(n.node.path(TEXTFILE), 'utf8');
    await promtoolCheck(text);
    const samples = parseSamples(text);
    const r = await n.kairosSpegel(['--json', 'status']);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout);
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    expect(status.images.length).toBeGreaterThan(0);
    for (const i of status.images) {
      const labels = { image: i.image, digest: i.manifest };
      const last = status.applied.filter((a: any) => a.manifest === i.manifest).at(-1);
      expect(value('kairos_spegel_image_staged', labels), i.image).toBe(i.staged === null ? 0 : 1);
      expect(value('kairos_spegel_image_seeded', labels), i.image).toBe(i.seeded === null ? 0 : 1);
      expect(value('kairos_spegel_image_applied', labels), i.image).toBe(last?.result === 'applied' ? 1 : 0);
      expect(value('kairos_spegel_image_peer_bytes_total', labels)).toBe(i.bytes.from_peers);
      expect(value('kairos_spegel_image_upstream_bytes_total', labels)).toBe(i.bytes.from_upstream);
    }
    expect(samples.filter((s) => s.name === 'kairos_spegel_image_staged')).toHaveLength(status.images.length);
    expect(value('kairos_spegel_peer_bytes_total')).toBe(status.bytes.from_peers);
    expect(value('kairos_spegel_upstream_bytes_total')).toBe(status.bytes.from_upstream);
    expect(value('kairos_spegel_store_size_bytes')).toBe(status.store_size);
    expect(value('kairos_spegel_store_free_bytes')).toBeGreaterThan(0);
    return { samples, status };
  }

  it('each scrape is valid text whose values are those of status --json', async () => {
    const prepull = await n.kairosSpegel(['prepull', '--unpack', image()]);
    expect(prepull.code, prepull.stderr).toBe(0);
    const first = await scrape();
    let samples = first.samples;
    const labels = { image: image(), digest: first.status.images[0].manifest };
    expect(sampleValue(samples, 'kairos_spegel_image_staged', labels)).toBe(1);
    expect(sampleValue(samples, 'kairos_spegel_image_applied', labels)).toBe(0);
    expect(sampleValue(samples, 'kairos_spegel_image_upstream_bytes_total', labels)).toBeGreaterThan(0);
    expect(sampleValue(samples, 'kairos_spegel_store_size_bytes')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'kairos_spegel_last_run_success', { command: 'prepull' })).toBe(1);
    expect(sampleValue(samples, 'kairos_spegel_mirror_health')).toBeUndefined();

    const upgrade = await n.kairosSpegel(['upgrade', image()]);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    ({ samples } = await scrape());
    expect(sampleValue(samples, 'kairos_spegel_image_applied', labels)).toBe(1);
    expect(sampleValue(samples, 'kairos_spegel_image_staged', labels), 'the staging is removed after success').toBe(0);
    expect(sampleValue(samples, 'kairos_spegel_last_run_success', { command: 'upgrade' })).toBe(1);
    expect(sampleValue(samples, 'kairos_spegel_last_run_success', { command: 'prepull' })).toBe(1);

    // Never configured: no hosts.toml names the node's mirror.
    const health = await n.kairosSpegel(['health']);
    expect(health.code, health.stderr).toBe(EXIT_UNHEALTHY);
    ({ samples } = await scrape());
    expect(sampleValue(samples, 'kairos_spegel_mirror_health')).toBe(2);
    expect(sampleValue(samples, 'kairos_spegel_last_run_success', { command: 'health' })).toBe(0);
    expect(sampleValue(samples, 'kairos_spegel_last_run_exit_code', { command: 'health' })).toBe(EXIT_UNHEALTHY);
    expect(sampleValue(samples, 'kairos_spegel_image_applied', labels)).toBe(1);
  });
});
