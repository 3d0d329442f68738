/** The known traps around the mirror, each with file, key and fix. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTraps, inspectContainerdConfig } from '../../src/mirror/containerd-config.ts';
import { layoutFor } from '../../src/mirror/layout.ts';
import { Root } from '../../src/fs/root.ts';
import { tempDir } from '../helpers/tmp.ts';
import { validateAgentBlock } from '../../src/config/load.ts';

const DEFAULTS = validateAgentBlock({ kind: 'map', entries: new Map(), loc: { file: 'defaults' } }).containerd;

const HOSTS = '/etc/containerd/certs.d';
const codes = (text: string) => inspectContainerdConfig(text, '/etc/containerd/config.toml', HOSTS).map((f) => f.code);

describe('inspectContainerdConfig', () => {
  it('accepts a v2 and a v3 config that set config_path and keep layers', () => {
    expect(codes(`version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${HOSTS}"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  discard_unpacked_layers = false\n`)).toEqual([]);
    expect(codes(`version = 3\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = "${HOSTS}:/etc/docker/certs.d"\n`)).toEqual([]);
  });
  it('flags a missing config_path, with the key and fix', () => {
    const [f] = inspectContainerdConfig('version = 3\n', '/etc/containerd/config.toml', HOSTS);
    expect(f).toMatchObject({ code: 'containerd-no-config-path', key: 'plugins."io.containerd.cri.v1.images".registry.config_path' });
    expect(f!.fix).toContain(`config_path = "${HOSTS}"`);
  });
  it('flags a config_path elsewhere', () => {
    expect(codes('version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/docker/certs.d"\n')).toEqual(['containerd-other-config-path']);
  });
  it('flags discard_unpacked_layers = true (v2 and v3)', () => {
    expect(codes(`version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n config_path = "${HOSTS}"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n discard_unpacked_layers = true\n`)).toEqual(['containerd-discards-layers']);
    expect(codes(`version = 3\n[plugins."io.containerd.cri.v1.images"]\n discard_unpacked_layers = true\n[plugins."io.containerd.cri.v1.images".registry]\n config_path = "${HOSTS}"\n`)).toEqual(['containerd-discards-layers']);
  });
  it('flags legacy mirrors', () => {
    expect(codes(`version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n config_path = "${HOSTS}"\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n endpoint = ["https://m"]\n`)).toEqual(['containerd-legacy-mirrors']);
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
    const traps = await findTraps(new Root(tempDir()), layoutFor('containerd', DEFAULTS));
    expect(traps.map((t) => t.code)).toEqual(['containerd-config-missing']);
  });
  it('does not check the containerd config k3s generates', async () => {
    expect(await findTraps(new Root(tempDir()), layoutFor('k3s', DEFAULTS))).toEqual([]);
  });
});
