/**
 * configure against Spegel's own writer: for the same node IP, the hosts.toml that
 * `configure` writes with its defaults and the one real `spegel configuration` writes with
 * the arguments of Spegel's Helm chart (its init container, with the chart's default
 * ports) are the same TOML, for `_default` and for per-registry directories.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import TOML from '@iarna/toml';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { peerBinary, peerVersion } from '../../testbed/peers.ts';
import { must } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const NODE_IP = '10.0.0.5';

/** The chart's mirror targets, read from the pinned chart: hostPort then nodePort, both at the node IP. */
function chartMirrorTargets(): string[] {
  const chart = path.join(path.dirname(peerBinary('spegel')), 'charts/spegel');
  const template = readFileSync(path.join(chart, 'templates/daemonset.yaml'), 'utf8');
  // The init container's arguments, as the chart renders them (usePreferSameNodeTrafficDistribution off, the default).
  expect(template).toContain(
    '- --mirror-targets\n          {{- if not .Values.service.registry.usePreferSameNodeTrafficDistribution }}\n          - http://$(NODE_IP):{{ .Values.service.registry.hostPort }}\n          {{- end }}\n          - http://$(NODE_IP):{{ .Values.service.registry.nodePort }}',
  );
  const values = parseYaml(readFileSync(path.join(chart, 'values.yaml'), 'utf8')) as { service: { registry: { hostPort: number; nodePort: number; usePreferSameNodeTrafficDistribution: boolean } } };
  expect(values.service.registry.usePreferSameNodeTrafficDistribution).toBe(false);
  return [values.service.registry.hostPort, values.service.registry.nodePort].map((p) => `http://${NODE_IP}:${p}`);
}

async function spegelWrites(mirrored: string[]): Promise<string> {
  const dir = tempDir('ks-spegel-cfg-');
  await must(peerBinary('spegel'), [
    'configuration',
    `--containerd-registry-config-path=${dir}`,
    ...(mirrored.length > 0 ? ['--mirrored-registries', ...mirrored] : []),
    '--mirror-targets',
    ...chartMirrorTargets(),
    '--resolve-tags=true',
    '--prepend-existing=false',
  ]);
  return dir;
}

async function configureWrites(registries: string[]): Promise<string> {
  const root = tempDir('ks-cfg-');
  mkdirSync(path.join(root, 'oem'));
  const mirror = registries.length > 0 ? `  mirror:\n    registries: [${registries.map((r) => JSON.stringify(r)).join(', ')}]\n` : '';
  writeFileSync(path.join(root, 'oem/90.yaml'), `#cloud-config\nkairos-spegel:\n  distro: containerd\n  node_ip: ${NODE_IP}\n${mirror}`);
  const r = await runAgent(['--root', root, 'configure']);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return path.join(root, 'etc/containerd/certs.d');
}

const parsed = (dir: string, registry: string) => TOML.parse(readFileSync(path.join(dir, registry, 'hosts.toml'), 'utf8'));

describe(`hosts.toml: configure and spegel ${peerVersion('spegel')} configuration with the Helm chart's arguments`, () => {
  beforeAll(() => {
    expect(chartMirrorTargets()).toEqual([`http://${NODE_IP}:30020`, `http://${NODE_IP}:30021`]);
  });

  it('_default (every registry)', async () => {
    const [ours, theirs] = await Promise.all([configureWrites([]), spegelWrites([])]);
    expect(parsed(ours, '_default')).toEqual(parsed(theirs, '_default'));
  });

  it('per-registry directories, docker.io with the Docker Hub API host as server', async () => {
    const [ours, theirs] = await Promise.all([
      configureWrites(['docker.io', 'https://ghcr.io', 'registry.example:5000']),
      spegelWrites(['https://docker.io', 'https://ghcr.io', 'https://registry.example:5000']),
    ]);
    for (const registry of ['docker.io', 'ghcr.io', 'registry.example:5000']) expect(parsed(ours, registry), registry).toEqual(parsed(theirs, registry));
    expect(parsed(theirs, 'docker.io')['server']).toBe('https://registry-1.docker.io');
  });
});
