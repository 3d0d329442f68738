/**
 * The k0s containerd drop-in by k0s release. k0s itself cannot run here (it needs a
 * Kubernetes control plane and its own bundled binaries), so `k0s version` is a script
 * printing what the real one prints: the release tag, "v1.36.3+k0s.2" (cmd/version/
 * version.go prints build.Version, which k0s' Makefile stamps from `git describe --tags`).
 * The drop-in's effect on containerd is checked with the real containerd: the config k0s
 * 1.36 generates (version 3, an imports glob over /etc/k0s/containerd.d, the pause image
 * pinned) plus our drop-in, as `containerd config dump` merges it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import TOML from '@iarna/toml';
import { describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { containerdMatrix, defaultContainerd } from '../../testbed/peers.ts';
import { must } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const DROP_IN = 'etc/k0s/containerd.d/spegel.toml';

/** A bin dir whose `k0s version` prints `tag`, and a node root that says it runs k0s. */
function k0sNode(tag: string | undefined, config = ''): { root: string; env: NodeJS.ProcessEnv } {
  const root = tempDir('ks-k0s-');
  const bin = path.join(root, '.bin');
  mkdirSync(bin);
  if (tag !== undefined) {
    writeFileSync(path.join(bin, 'k0s'), `#!/bin/sh\n[ "$1" = version ] || exit 2\nprintf '%s\\n' '${tag}'\n`);
    chmodSync(path.join(bin, 'k0s'), 0o755);
  }
  mkdirSync(path.join(root, 'oem'));
  writeFileSync(path.join(root, 'oem/90.yaml'), `#cloud-config\nkairos-spegel:\n  distro: k0s\n  node_ip: 10.1.2.3\n${config}`);
  return { root, env: { ...process.env, PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` } };
}

type Table = Record<string, unknown>;

/** What k0s 1.36's pre-flight check (RequireContainerdV2ConfigSnippets) refuses in a drop-in. */
function k0s136Refuses(dropIn: Table): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a TOML version: a number or a string
  if (dropIn['version'] !== undefined && dropIn['version'] !== 3) return `unsupported configuration version: expected 3, got ${String(dropIn['version'])}`;
  if ((dropIn['plugins'] as Table | undefined)?.['io.containerd.grpc.v1.cri'] !== undefined) return 'configuration contains a [plugins."io.containerd.grpc.v1.cri"] section';
  return undefined;
}

describe('k0s drop-in: its form follows `k0s version`', () => {
  it.each([
    ['v1.33.13+k0s.1', 2],
    ['v1.35.7+k0s.0', 2],
    ['v1.36.1+k0s.0', 3],
    ['v1.36.3+k0s.2', 3],
  ] as const)('k0s %s: version %i', async (tag, version) => {
    const { root, env } = k0sNode(tag);
    const r = await runAgent(['--root', root, 'configure'], { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const dropIn = TOML.parse(readFileSync(path.join(root, DROP_IN), 'utf8')) as Table;
    expect(dropIn['version']).toBe(version);
    const plugins = dropIn['plugins'] as Table;
    if (version === 2) {
      // k0s up to 1.35 merges a drop-in only when it holds the CRI plugin table; else it imports it as it is.
      expect(plugins['io.containerd.grpc.v1.cri']).toEqual({ containerd: { discard_unpacked_layers: false }, registry: { config_path: '/etc/containerd/certs.d' } });
    } else {
      expect(k0s136Refuses(dropIn)).toBeUndefined();
      expect(plugins['io.containerd.cri.v1.images']).toEqual({ discard_unpacked_layers: false, registry: { config_path: '/etc/containerd/certs.d' } });
    }
    expect(r.stdout + r.stderr).toContain(`k0s ${tag}`);
    // health agrees that the file is current.
    const h = JSON.parse((await runAgent(['--root', root, '--json', 'health'], { env })).stdout) as { config: { file: string; state: string }[] };
    expect(h.config.find((c) => c.file === `/${DROP_IN}`)?.state).toBe('current');
  });

  it('containerd.config_version forces the form without asking k0s', async () => {
    const { root, env } = k0sNode(undefined, '  containerd:\n    config_version: 2\n');
    const r = await runAgent(['--root', root, 'configure'], { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((TOML.parse(readFileSync(path.join(root, DROP_IN), 'utf8')) as Table)['version']).toBe(2);
  });

  it('without a k0s to ask, configure stops and names the setting, writing nothing', async () => {
    const { root, env } = k0sNode(undefined);
    const r = await runAgent(['--root', root, 'configure'], { env });
    expect(r.code).toBe(1);
    const output = r.stdout + r.stderr;
    expect(output).toContain("cannot tell which containerd drop-in k0s takes: 'k0s version' failed");
    expect(output).toContain('kairos-spegel.containerd.config_version');
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(path.join(root, DROP_IN))).toBe(false);
    expect(existsSync(path.join(root, 'etc/containerd/certs.d'))).toBe(false);
  });
});

describe('k0s drop-in, as real containerd merges it', () => {
  async function dump(containerd: string, config: string): Promise<Table> {
    return TOML.parse(await must(containerd, ['--config', config, 'config', 'dump']));
  }

  it(`version 3 under k0s 1.36's generated config (${defaultContainerd().label}): config_path set, layers kept, the pinned pause image still there`, async () => {
    const { root, env } = k0sNode('v1.36.3+k0s.2');
    expect((await runAgent(['--root', root, 'configure'], { env })).code).toBe(0);
    const config = path.join(root, 'containerd.toml');
    writeFileSync(
      config,
      [
        '# k0s_managed=true',
        'version = 3',
        `imports = ["${path.join(root, 'etc/k0s/containerd.d')}/*.toml"]`,
        '[plugins."io.containerd.cri.v1.images".pinned_images]',
        '  sandbox = "quay.io/k0sproject/pause:3.10.1"',
        '',
      ].join('\n'),
    );
    const images = ((await dump(defaultContainerd().containerd, config))['plugins'] as Table)['io.containerd.cri.v1.images'] as Table;
    expect((images['registry'] as Table)['config_path']).toBe('/etc/containerd/certs.d');
    expect(images['discard_unpacked_layers']).toBe(false);
    expect((images['pinned_images'] as Table)['sandbox']).toBe('quay.io/k0sproject/pause:3.10.1');
  });

  it('version 2, the CRI plugin table k0s up to 1.35 merges into its containerd 1.7 config, read by containerd 1.7', async () => {
    const ctd17 = containerdMatrix().find((b) => b.version.major === 1 && b.version.minor === 7)!;
    const { root, env } = k0sNode('v1.35.7+k0s.0');
    expect((await runAgent(['--root', root, 'configure'], { env })).code).toBe(0);
    const cri = ((await dump(ctd17.containerd, path.join(root, DROP_IN)))['plugins'] as Table)['io.containerd.grpc.v1.cri'] as Table;
    expect((cri['registry'] as Table)['config_path']).toBe('/etc/containerd/certs.d');
    expect((cri['containerd'] as Table)['discard_unpacked_layers']).toBe(false);
  });
});
