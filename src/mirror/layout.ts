/**
 * Where each distribution keeps the files the agent writes or checks (node paths).
 * Sources: Spegel's getting-started guide (https://spegel.dev/docs/getting-started/) and
 * k3s' registry-mirror docs (https://docs.k3s.io/installation/registry-mirror).
 */
import type { AgentConfig } from '../config/agent-config.ts';
import type { Distro } from '../node/distro.ts';

export interface Layout {
  distro: Distro;
  /** containerd `config_path`: the hosts directory (k3s generates it from registries.yaml). */
  hostsDir: string;
  /** Whether the agent writes hosts.toml files (k3s writes its own). */
  writesHostsToml: boolean;
  /** containerd configuration the agent checks for traps, if the distribution lets the user own it. */
  containerdConfig?: string;
  /** k3s registries.yaml. */
  registriesYaml?: string;
  /** k0s containerd drop-in the agent owns. */
  k0sDropIn?: string;
  /** containerd's socket and the ctr command that talks to it (seeding). */
  socket: string;
  ctr: string[];
}

export const K3S_REGISTRIES_YAML = '/etc/rancher/k3s/registries.yaml';
const K3S_HOSTS_DIR = '/var/lib/rancher/k3s/agent/etc/containerd/certs.d';
const K0S_DROP_IN = '/etc/k0s/containerd.d/spegel.toml';
const CONTAINERD_HOSTS_DIR = '/etc/containerd/certs.d';
const CONTAINERD_CONFIG = '/etc/containerd/config.toml';

export function layoutFor(distro: Distro, cfg: AgentConfig['containerd']): Layout {
  const ctr = (fallback: string) => (cfg.ctr ?? fallback).split(/\s+/).filter(Boolean);
  switch (distro) {
    case 'k3s':
      return {
        distro,
        hostsDir: cfg.hosts_dir ?? K3S_HOSTS_DIR,
        writesHostsToml: false,
        registriesYaml: K3S_REGISTRIES_YAML,
        socket: cfg.socket ?? '/run/k3s/containerd/containerd.sock',
        ctr: ctr('k3s ctr'),
      };
    case 'k0s':
      // k0s merges drop-ins from /etc/k0s/containerd.d into the containerd config it generates.
      return {
        distro,
        hostsDir: cfg.hosts_dir ?? CONTAINERD_HOSTS_DIR,
        writesHostsToml: true,
        containerdConfig: cfg.config_file,
        k0sDropIn: K0S_DROP_IN,
        socket: cfg.socket ?? '/run/k0s/containerd.sock',
        ctr: ctr('k0s ctr'),
      };
    case 'containerd':
      return {
        distro,
        hostsDir: cfg.hosts_dir ?? CONTAINERD_HOSTS_DIR,
        writesHostsToml: true,
        containerdConfig: cfg.config_file ?? CONTAINERD_CONFIG,
        socket: cfg.socket ?? '/run/containerd/containerd.sock',
        ctr: ctr('ctr'),
      };
  }
}
