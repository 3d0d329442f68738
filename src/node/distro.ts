/**
 * Which container runtime setup the node has: k3s (containerd managed by k3s, with its
 * embedded Spegel), k0s (its own containerd, Spegel from the Helm chart), or plain
 * containerd. Taken from the config, else from the cloud-config's provider blocks, else
 * from what is installed or has run on disk.
 */
import { ConfigError, formatLocation, type SourceLocation } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import { pathExists } from '../fs/path-exists.ts';

export type Distro = 'k3s' | 'k0s' | 'containerd';

/** The `kairos-spegel.distro` setting. */
export type DistroSetting = 'auto' | Distro;

/** Where the distribution blocks (provider-kairos keys) of the cloud-config enable k3s or k0s. */
export interface DistroHints {
  k3s?: SourceLocation;
  k0s?: SourceLocation;
}

export interface DetectedDistro {
  distro: Distro;
  /** Why: for logs and `health`. */
  reason: string;
}

/** Evidence on disk, strongest first: state a distribution left behind, then its binary. */
const ON_DISK: readonly [Distro, string][] = [
  ['k3s', '/var/lib/rancher/k3s'],
  ['k0s', '/var/lib/k0s'],
  ['k3s', '/etc/rancher/k3s/config.yaml'],
  ['k0s', '/etc/k0s/k0s.yaml'],
  ['k3s', '/usr/bin/k3s'],
  ['k3s', '/usr/local/bin/k3s'],
  ['k0s', '/usr/bin/k0s'],
  ['k0s', '/usr/local/bin/k0s'],
];

export async function detectDistro(setting: DistroSetting, hints: DistroHints, root: Root): Promise<DetectedDistro> {
  if (setting !== 'auto') return { distro: setting, reason: 'kairos-spegel.distro' };
  if (hints.k3s && hints.k0s) {
    throw new ConfigError([{ at: hints.k0s, key: 'k0s.enabled', message: `both k3s (${formatLocation(hints.k3s)}) and k0s are enabled` }], 'enable only one distribution, or set kairos-spegel.distro');
  }
  if (hints.k3s) return { distro: 'k3s', reason: `k3s enabled at ${formatLocation(hints.k3s)}` };
  if (hints.k0s) return { distro: 'k0s', reason: `k0s enabled at ${formatLocation(hints.k0s)}` };
  for (const [distro, nodePath] of ON_DISK) {
    if (await pathExists(root.path(nodePath))) return { distro, reason: `${nodePath} exists` };
  }
  return { distro: 'containerd', reason: 'no k3s or k0s found' };
}
