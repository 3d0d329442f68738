/** The command table: names, help and options; implementations load on demand. */
import type { CommandSpec, OptionSpec } from './command.ts';

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', value: 'FILE', description: 'read settings from FILE (a cloud-config with a kairos-spegel: block) instead of the Kairos cloud-config directories' },
  root: { type: 'string', value: 'DIR', description: 'take every node path under DIR (tests, chroots, image builds); default /' },
  json: { type: 'boolean', description: 'print the result as one JSON document on stdout (logs then go to stderr)' },
  'log-level': { type: 'string', value: 'LEVEL', description: 'trace, debug, info (default), warn, error or silent' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', short: 'V', description: 'print the version' },
};

export const COMMANDS: CommandSpec[] = [
  {
    name: 'configure',
    summary: "write the containerd / k3s / k0s mirror configuration for this node's Spegel",
    usage: 'kairos-spegel configure [--stage boot|network|reconcile] [--dry-run]',
    description: [
      'Points containerd at the Spegel mirror on this node\'s own IP, merged with what is already there:',
      '  containerd, k0s: <hosts_dir>/<registry>/hosts.toml (default <hosts_dir>/_default/hosts.toml)',
      '  k0s:             /etc/k0s/containerd.d/spegel.toml (config_path, discard_unpacked_layers = false)',
      '  k3s:             /etc/rancher/k3s/registries.yaml (mirrors for the embedded registry)',
      'Files are replaced atomically and only when their content changes. Known traps (Spegel owning',
      'the hosts directory, containerd config without config_path, ...) are reported with their fix.',
    ].join('\n'),
    options: {
      stage: {
        type: 'string',
        value: 'STAGE',
        description: 'boot: only files that do not need the node IP (registries.yaml, k0s drop-in); network, reconcile: everything (default)',
      },
      'dry-run': { type: 'boolean', description: 'print the planned changes as a diff and write nothing' },
    },
    load: async () => (await import('./commands/configure.ts')).run,
  },
  {
    name: 'health',
    summary: "check that the node's mirror answers and the configuration around it is coherent",
    usage: 'kairos-spegel health [--wait DURATION]',
    description: [
      'For each mirror endpoint: TCP connect within the dial timeout, GET /v2/, GET /readyz (/healthz on',
      'Spegel before 0.4); and whether the mirror configuration on disk still names the node\'s current IP.',
      'Exit codes: 0 healthy, 1 degraded (an endpoint down or not ready, stale configuration, a known',
      'trap), 2 unhealthy (no endpoint answers) or not configured.',
    ].join('\n'),
    options: {
      wait: { type: 'string', value: 'DURATION', description: 'poll until healthy or until DURATION (e.g. 2m) has passed' },
    },
    load: async () => (await import('./commands/health.ts')).run,
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
