/** The known traps around the mirror, each with file, key and fix. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTraps, inspectContainerdConfig } from '../../src/mirror/containerd-config.ts';
import type { ContainerdVersion } from '../../src/node/containerd-version.ts';
import { layoutFor } from '../../src/mirror/layout.ts';
import { Root } from '../../src/fs/root.ts';
import { tempDir } from '../../testbed/tmp.ts';
import { validateAgentBlock } from '../../src/config/load.ts';

const DEFAULTS = validateAgentBlock({ kind: 'map', entries: new Map(), loc: { file: 'defaults' } }).containerd;

const HOSTS = '/etc/containerd/certs.d';
const v = (text: string): ContainerdVersion => {
  const [major, minor, patch] = text.split('.').map(Number) as [number, number, number];
  return { major, minor, patch, text };
};
const codes = (text: string | undefined, version?: string) => inspectContainerdConfig(text, '/etc/containerd/config.toml', HOSTS, version ? v(version) : undefined).map((f) => f.code);
const V3_IMAGES = 'plugins."io.containerd.cri.v1.images"';

describe('inspectContainerdConfig', () => {
  it('accepts a v2 and a v3 config that set config_path to the hosts dir and keep layers', () => {
    expect(
      codes(`version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${HOSTS}"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  discard_unpacked_layers = false\n`, '1.7.35'),
    ).toEqual([]);
    expect(codes(`version = 3\n[${V3_IMAGES}.registry]\n  config_path = "${HOSTS}"\n`, '2.2.9')).toEqual([]);
  });
  it('flags a missing config_path before containerd 2.2, with the key and fix', () => {
    const [f] = inspectContainerdConfig('version = 2\n', '/etc/containerd/config.toml', HOSTS, v('1.7.35'));
    expect(f).toMatchObject({ code: 'containerd-no-config-path', key: 'plugins."io.containerd.grpc.v1.cri".registry.config_path' });
    expect(f!.fix).toContain(`config_path = "${HOSTS}"`);
    expect(codes(undefined, '1.6.20')).toEqual(['containerd-config-missing']);
  });
  it('containerd 2.2+ without config_path: its default list, which the transfer service misreads; fine with the local pull', () => {
    const [f] = inspectContainerdConfig('version = 3\n', '/etc/containerd/config.toml', HOSTS, v('2.2.9'));
    expect(f).toMatchObject({ code: 'containerd-config-path-list', key: `${V3_IMAGES}.registry.config_path` });
    expect(f!.message).toContain('uses its default "/etc/containerd/certs.d:/etc/docker/certs.d"');
    expect(f!.fix).toContain('use_local_image_pull = true');
    expect(codes(undefined, '2.4.2')).toEqual(['containerd-config-path-list']);
    expect(codes(`version = 3\n[${V3_IMAGES}]\n  use_local_image_pull = true\n`, '2.2.9')).toEqual([]);
    // A version that cannot be asked is judged as current releases behave.
    expect(codes('version = 3\n')).toEqual(['containerd-config-path-list']);
  });
  it('a config_path list: fine where CRI pulls locally (before 2.1, or a setting that forces it), misread by the transfer service', () => {
    const list = (version: number) => `version = ${version}\n[${version === 3 ? V3_IMAGES : 'plugins."io.containerd.grpc.v1.cri"'}.registry]\n  config_path = "${HOSTS}:/etc/docker/certs.d"\n`;
    expect(codes(list(2), '1.7.35')).toEqual([]);
    expect(codes(list(2), '2.0.14')).toEqual([]);
    expect(codes(list(3), '2.1.5')).toEqual(['containerd-config-path-list']);
    expect(codes(`${list(3)}[${V3_IMAGES}]\n  max_concurrent_downloads = 5\n`, '2.2.9')).toEqual([]);
  });
  it('flags a config_path elsewhere', () => {
    expect(codes('version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/docker/certs.d"\n', '1.7.35')).toEqual(['containerd-other-config-path']);
  });
  it('flags discard_unpacked_layers = true (v2 and v3)', () => {
    expect(
      codes(`version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n config_path = "${HOSTS}"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n discard_unpacked_layers = true\n`, '1.7.35'),
    ).toEqual(['containerd-discards-layers']);
    expect(codes(`version = 3\n[${V3_IMAGES}]\n discard_unpacked_layers = true\n[${V3_IMAGES}.registry]\n config_path = "${HOSTS}"\n`, '2.2.9')).toEqual(['containerd-discards-layers']);
  });
  it('flags legacy mirrors', () => {
    expect(
      codes(
        `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n config_path = "${HOSTS}"\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n endpoint = ["https://m"]\n`,
        '1.7.35',
      ),
    ).toEqual(['containerd-legacy-mirrors']);
  });
  it('reports invalid TOML instead of throwing', () => {
    expect(codes('version = \n')).toEqual(['containerd-config-invalid']);
  });
});

describe('findTraps', () => {
  it("warns that Spegel's init container owns the hosts dir when _backup exists", async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'etc/containerd/certs.d/_backup'), { recursive: true });
    writeFileSync(path.join(dir, 'etc/containerd/config.toml'), `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n config_path = "${HOSTS}"\n`);
    const traps = await findTraps(new Root(dir), layoutFor('containerd', DEFAULTS));
    expect(traps.map((t) => t.code)).toEqual(['spegel-owns-hosts-dir']);
    expect(traps[0]!.fix).toContain('spegel.containerdMirrorAdd: false');
  });
  it('warns when containerd has no config file at all', async () => {
    const traps = await findTraps(new Root(tempDir()), layoutFor('containerd', DEFAULTS), v('1.7.35'));
    expect(traps.map((t) => t.code)).toEqual(['containerd-config-missing']);
  });
  it('does not check the containerd config k3s generates', async () => {
    expect(await findTraps(new Root(tempDir()), layoutFor('k3s', DEFAULTS))).toEqual([]);
  });
});
