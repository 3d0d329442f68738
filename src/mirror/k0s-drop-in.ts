/**
 * k0s containerd drop-in (/etc/k0s/containerd.d/spegel.toml), as Spegel's getting-started
 * guide gives it for k0s (https://spegel.dev/docs/getting-started/): point the CRI plugin at
 * the hosts directory, and keep compressed layers after unpacking so Spegel can serve them.
 * Version 3 for k0s 1.36 and later, version 2 before (see node/k0s-version.ts). The file is
 * the agent's own; it is rewritten whole.
 */
import type { DropInVersion } from '../node/k0s-version.ts';

export function renderK0sDropIn(hostsDir: string, version: DropInVersion): string {
  const q = JSON.stringify(hostsDir);
  const header = "# managed by kairos-spegel: lets the Spegel mirror serve this node's images; rewritten by `kairos-spegel configure`";
  if (version === 3) {
    return [
      header,
      'version = 3',
      '',
      '[plugins."io.containerd.cri.v1.images"]',
      '  discard_unpacked_layers = false',
      '',
      '[plugins."io.containerd.cri.v1.images".registry]',
      `  config_path = ${q}`,
      '',
    ].join('\n');
  }
  return [
    header,
    'version = 2',
    '',
    '[plugins."io.containerd.grpc.v1.cri".containerd]',
    '  discard_unpacked_layers = false',
    '',
    '[plugins."io.containerd.grpc.v1.cri".registry]',
    `  config_path = ${q}`,
    '',
  ].join('\n');
}
