/**
 * config_path as containerd itself reads it, against what `health` says about it: for each
 * containerd of the matrix and each way a node's config.toml may (not) set it, a Kubernetes
 * pull (crictl, through the CRI plugin as the kubelet pulls) either asks the mirror named in
 * /etc/containerd/certs.d or not, and health warns exactly when it does not.
 *
 * containerd runs in a private mount namespace whose /etc/containerd is a test directory:
 * its built-in default config_path (2.2 and later) points there, not at this machine's /etc.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { startContainerd } from '../../testbed/containerd.ts';
import { startProxy, type Proxy } from '../../testbed/fault-proxy.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { LOCAL, requireRoot } from '../../testbed/netns.ts';
import { containerdMatrix, type ContainerdBuild } from '../../testbed/peers.ts';
import { tempDir } from '../../testbed/tmp.ts';

interface Variant {
  name: string;
  /** config.toml lines after `version = N`, by version. */
  lines: (registryTable: string, imagesTable: string) => string[];
  /** Only containerd 2 reads it. */
  v2Only?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'no config_path', lines: () => [] },
  { name: 'config_path one directory', lines: (r) => [`[${r}]`, '  config_path = "/etc/containerd/certs.d"'] },
  { name: 'config_path a list', lines: (r) => [`[${r}]`, '  config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"'] },
  { name: 'no config_path, use_local_image_pull', lines: (_r, i) => [`[${i}]`, '  use_local_image_pull = true'], v2Only: true },
];

/** What the real containerd did, per version and variant (asserted, so a new release that changes it shows up here). */
function expectedMirrorUse(build: ContainerdBuild, variant: string): boolean {
  const v2 = build.version.major >= 2;
  switch (variant) {
    case 'no config_path':
      return false; // < 2.2: no hosts dir; >= 2.2: the default is a list, which the transfer service misreads (containerd#12808)
    case 'config_path one directory':
      return true;
    case 'config_path a list':
      return !v2; // 1.x splits the list; 2.x pulls through the transfer service, which does not
    default:
      return true; // local pull splits the default list
  }
}

const cases = containerdMatrix()
  .flatMap((build) => VARIANTS.filter((v) => !v.v2Only || build.version.major >= 2).map((variant) => ({ build, variant, label: `${build.label}, ${variant.name}` })))
  .map((c, i) => ({ ...c, n: i }));

describe('config_path: what containerd reads, and what health says', () => {
  const dir = tempDir('ks-cfgpath-');
  let registry: LoopbackRegistry;
  let mirror: Proxy;
  let image: string;

  beforeAll(async () => {
    requireRoot('containerd in a mount namespace');
    registry = await startLoopbackRegistry(dir, 'reg');
    image = `${registry.host}/kairos/cri:v1`;
    await pushImage(undefined, await buildImage(path.join(dir, 'img'), 1, 10_000), image);
    // The mirror: a recording proxy in front of the registry.
    mirror = await startProxy(registry.url);
  }, 120_000);
  afterAll(async () => {
    await mirror?.close();
    await registry?.stop();
  });

  it.each(cases)('$label', async ({ build, variant, n }) => {
    // Short: containerd's socket path must stay within the 108 bytes of a unix socket address.
    const caseDir = path.join(dir, String(n));
    const etc = path.join(caseDir, 'etc-containerd');
    mkdirSync(path.join(etc, 'certs.d', registry.host), { recursive: true });
    writeFileSync(path.join(etc, 'certs.d', registry.host, 'hosts.toml'), `server = "${registry.url}"\n\n[host."${mirror.url}"]\n  capabilities = ["pull", "resolve"]\n`);
    const version = build.version.major >= 2 ? 3 : 2;
    const lines = variant.lines(version === 3 ? 'plugins."io.containerd.cri.v1.images".registry' : 'plugins."io.containerd.grpc.v1.cri".registry', 'plugins."io.containerd.cri.v1.images"');
    // The node as the agent sees it: the same settings in /etc/containerd/config.toml, containerd's socket where it lives.
    const root = path.join(caseDir, 'root');
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    mkdirSync(path.join(root, 'etc/containerd'), { recursive: true });
    writeFileSync(path.join(root, 'etc/containerd/config.toml'), [`version = ${version}`, ...lines, ''].join('\n'));
    writeFileSync(path.join(root, 'oem/90.yaml'), `#cloud-config\nkairos-spegel:\n  distro: containerd\n  containerd:\n    ctr: ${build.ctr}\n`);
    const ctd = await startContainerd(LOCAL, path.join(root, 'run'), undefined, { build, configVersion: version, config: lines, etcContainerd: etc });
    try {
      const before = mirror.requests.length;
      const pull = await ctd.crictl(['pull', image]);
      expect(pull.code, pull.stdout + pull.stderr).toBe(0);
      const mirrorUsed = mirror.requests.slice(before).some((r) => r.url.startsWith('/v2/kairos/cri/'));
      expect(mirrorUsed, `${build.label} with ${variant.name}: the CRI pull ${mirrorUsed ? 'asked' : 'did not ask'} the mirror`).toBe(expectedMirrorUse(build, variant.name));

      const r = await runAgent(['--root', root, '--json', 'health']);
      const report = JSON.parse(r.stdout) as { containerd: { version: string | null }; warnings: { code: string; message: string }[] };
      expect(report.containerd.version).toMatch(new RegExp(`^${build.version.major}\\.${build.version.minor}\\.`));
      const pathWarnings = report.warnings.filter((w) => /config-path|config-missing/.test(w.code));
      expect(pathWarnings.length > 0, JSON.stringify(pathWarnings)).toBe(!mirrorUsed);
    } finally {
      await ctd.stop();
    }
  });
});
