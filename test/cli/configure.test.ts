/** configure through the binary on a rehearsal root: distributions, stages, idempotence, dry-run. */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import TOML from '@iarna/toml';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

function nodeRoot(config: string, files: Record<string, string> = {}): string {
  const root = tempDir('ks-cfg-');
  mkdirSync(path.join(root, 'oem'));
  writeFileSync(path.join(root, 'oem/90_custom.yaml'), `#cloud-config\n${config}`);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  return root;
}

const read = (root: string, f: string) => readFileSync(path.join(root, f), 'utf8');
const HOSTS = 'etc/containerd/certs.d/_default/hosts.toml';
const USER_HOSTS = '# mine\n[host."https://cache.example"]\n  capabilities = ["pull"]\n';

describe('configure', () => {
  it("--root confines symlinks: a node root linking to the machine's directories and files is written and read inside the root", async () => {
    const outside = tempDir('ks-cfg-outside-');
    mkdirSync(path.join(outside, 'containerd'));
    writeFileSync(path.join(outside, 'other.yaml'), '#cloud-config\nkairos-spegel:\n  node_ip: 10.66.66.66\n');
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.5.5.5\n  distro: containerd\n');
    mkdirSync(path.join(root, 'etc'));
    symlinkSync(path.join(outside, 'containerd'), path.join(root, 'etc/containerd'));
    symlinkSync(path.join(outside, 'other.yaml'), path.join(root, 'oem/95_other.yaml'));
    const r = await runAgent(['--root', root, 'configure']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(path.join(outside, 'containerd')), 'nothing written through the symlink to the machine').toEqual([]);
    // The link's absolute target is taken from the root, as a chroot would.
    expect(read(root, path.join(outside, 'containerd/certs.d/_default/hosts.toml').slice(1))).toContain('http://10.5.5.5:30020');
    expect(r.stdout + r.stderr).not.toContain('10.66.66.66');
  });

  it('re-run with nothing changed leaves the file untouched: same bytes, same mtime', async () => {
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.1.2.3\n  distro: containerd\n', { [HOSTS]: USER_HOSTS });
    expect((await runAgent(['--root', root, 'configure'])).code).toBe(0);
    const first = read(root, HOSTS);
    const mtime = statSync(path.join(root, HOSTS)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const again = await runAgent(['--root', root, '--json', 'configure']);
    expect(JSON.parse(again.stdout).files).toEqual([{ path: '/etc/containerd/certs.d/_default/hosts.toml', action: 'unchanged' }]);
    expect(read(root, HOSTS)).toBe(first);
    expect(statSync(path.join(root, HOSTS)).mtimeMs).toBe(mtime);
  });

  it('--dry-run prints a diff and writes nothing', async () => {
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.1.2.3\n', { [HOSTS]: USER_HOSTS });
    const r = await runAgent(['--root', root, 'configure', '--dry-run', '--log-level', 'error']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `--- /etc/containerd/certs.d/_default/hosts.toml\n+++ /etc/containerd/certs.d/_default/hosts.toml\n@@ -1,3 +1,13 @@\n+# managed by kairos-spegel\n+[host.'http://10.1.2.3:30020']`,
    );
    expect(read(root, HOSTS)).toBe(USER_HOSTS);
    expect(readdirSync(path.join(root, 'etc/containerd/certs.d/_default'))).toEqual(['hosts.toml']);
  });

  it('writes files with mode 0644 whatever the umask', async () => {
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.1.2.3\n');
    const r = await run('/bin/sh', ['-c', `umask 077 && exec "$0" "$@"`, path.resolve('dist/kairos-spegel'), '--root', root, 'configure']);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(path.join(root, HOSTS)).mode & 0o777).toBe(0o644);
  });

  it('mirrors into existing per-registry hosts.toml files too, and warns about directories that shadow _default', async () => {
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.1.2.3\n', {
      'etc/containerd/certs.d/ghcr.io/hosts.toml': 'server = "https://ghcr.io"\n',
      'etc/containerd/certs.d/quay.io/ca.crt': 'x',
    });
    const r = await runAgent(['--root', root, 'configure']);
    expect(r.code).toBe(0);
    expect(Object.keys((TOML.parse(read(root, 'etc/containerd/certs.d/ghcr.io/hosts.toml')) as any).host)).toEqual(['http://10.1.2.3:30020', 'http://10.1.2.3:30021']);
    expect(r.stderr).toMatch(/registry directory without hosts.toml: containerd uses it for quay.io instead of _default/);
    expect(existsSync(path.join(root, 'etc/containerd/certs.d/quay.io/hosts.toml'))).toBe(false);
  });

  it('writes one file per listed registry, with a server line as Spegel does', async () => {
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.1.2.3\n  mirror:\n    registries: [docker.io, "https://ghcr.io"]\n    ports: [30020, 30021]\n    resolve_tags: false\n');
    expect((await runAgent(['--root', root, 'configure'])).code).toBe(0);
    expect(read(root, 'etc/containerd/certs.d/docker.io/hosts.toml')).toMatch(
      /^server = 'https:\/\/registry-1\.docker\.io'\n\n# managed by kairos-spegel\n\[host\.'http:\/\/10\.1\.2\.3:30020'\]\ncapabilities = \['pull'\]/,
    );
    expect(TOML.parse(read(root, 'etc/containerd/certs.d/ghcr.io/hosts.toml'))).toMatchObject({ server: 'https://ghcr.io' });
    expect(existsSync(path.join(root, HOSTS))).toBe(false);
  });

  it('k0s: the containerd drop-in at boot (no node IP needed), hosts.toml once the network is up', async () => {
    const root = nodeRoot('k0s:\n  enabled: true\nkairos-spegel:\n  interface: nonexistent0\n  wait_for_ip: 300ms\n  containerd: {config_version: 3}\n');
    const boot = await runAgent(['--root', root, '--json', 'configure', '--stage', 'boot']);
    expect(boot.code, boot.stderr).toBe(0);
    expect(JSON.parse(boot.stdout).files).toEqual([{ path: '/etc/k0s/containerd.d/spegel.toml', action: 'created' }]);
    expect(TOML.parse(read(root, 'etc/k0s/containerd.d/spegel.toml'))).toEqual({
      version: 3,
      plugins: { 'io.containerd.cri.v1.images': { discard_unpacked_layers: false, registry: { config_path: '/etc/containerd/certs.d' } } },
    });
    const network = await runAgent(['--root', root, 'configure', '--stage', 'network']);
    expect(network.code).toBe(1);
    expect(network.stderr).toContain('cannot determine the node IP: interface nonexistent0 does not exist (yet) after waiting');
    expect(network.stderr).toContain('set kairos-spegel.node_ip');
  });

  it('k0s with containerd 1.7 (k0s 1.35 and earlier): a version 2 drop-in', async () => {
    const root = nodeRoot('kairos-spegel:\n  distro: k0s\n  containerd: {config_version: 2, hosts_dir: /etc/k0s/certs.d}\n');
    expect((await runAgent(['--root', root, 'configure', '--stage', 'boot'])).code).toBe(0);
    expect(TOML.parse(read(root, 'etc/k0s/containerd.d/spegel.toml'))).toEqual({
      version: 2,
      plugins: { 'io.containerd.grpc.v1.cri': { containerd: { discard_unpacked_layers: false }, registry: { config_path: '/etc/k0s/certs.d' } } },
    });
  });

  it("k3s: registries.yaml merged with the user's, no hosts.toml (k3s writes its own)", async () => {
    const root = nodeRoot('k3s:\n  enabled: true\n', { 'etc/rancher/k3s/registries.yaml': 'configs:\n  reg.example:\n    auth: {username: u}\n' });
    const r = await runAgent(['--root', root, 'configure', '--stage', 'boot']);
    expect(r.code).toBe(0);
    expect(parseYaml(read(root, 'etc/rancher/k3s/registries.yaml'))).toEqual({ configs: { 'reg.example': { auth: { username: 'u' } } }, mirrors: { '*': {} } });
    expect(existsSync(path.join(root, 'etc/containerd'))).toBe(false);
    expect(existsSync(path.join(root, 'var/lib/rancher/k3s/agent/etc/containerd/certs.d'))).toBe(false);
  });

  it('refuses to touch a hosts.toml that is not valid TOML, naming it', async () => {
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.1.2.3\n', { [HOSTS]: 'server = \n' });
    const r = await runAgent(['--root', root, 'configure']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/etc/containerd/certs.d/_default/hosts.toml:1:');
    expect(read(root, HOSTS)).toBe('server = \n');
  });

  it("warns, naming the fix, when Spegel's init container owns the hosts dir", async () => {
    const root = nodeRoot('kairos-spegel:\n  node_ip: 10.1.2.3\n', { 'etc/containerd/certs.d/_backup/docker.io/hosts.toml': '' });
    const r = await runAgent(['--root', root, 'configure']);
    expect(r.code).toBe(0);
    const warn = r.stderr
      .split('\n')
      .filter((l) => l.includes('_backup'))
      .map((l) => JSON.parse(l));
    expect(warn[0]).toMatchObject({ level: 'warn', fix: expect.stringContaining('spegel.containerdMirrorAdd: false') });
  });
});
