/** The command table: names, help and options; implementations load on demand. */
import { EXIT_DEGRADED, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE } from '../errors.ts';
import { LOG_LEVELS } from '../log/logger.ts';
import type { CommandSpec, OptionSpecs } from './command.ts';

export const GLOBAL_OPTIONS = {
  config: { type: 'string', value: 'FILE', description: 'read settings from FILE (a cloud-config with a kairos-spegel: block) instead of the Kairos cloud-config directories' },
  root: { type: 'string', value: 'DIR', description: 'take every node path under DIR (tests, chroots, image builds); default /' },
  json: { type: 'boolean', description: 'print the result as one JSON document on stdout (logs then go to stderr)' },
  'log-level': { type: 'string', value: 'LEVEL', description: 'trace, debug, info (default), warn, error or silent', choices: LOG_LEVELS },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', short: 'V', description: 'print the version' },
} as const satisfies OptionSpecs;

export const PULL_OPTIONS = {
  platform: { type: 'string', value: 'PLATFORM', description: "platform to pull from a multi-platform image (default: the node's, or pull.platform)" },
  upstream: { type: 'string', value: 'POLICY', description: 'always, never, or "after 10m": ask only the mirror until then (default: pull.upstream)' },
  'no-seed': { type: 'boolean', description: "do not import the image into the node's containerd (default: pull.seed)" },
  verify: { type: 'boolean', description: 'hash every blob the store already holds (not only its size); a damaged one is fetched again' },
} as const satisfies OptionSpecs;

export const CONFIGURE_OPTIONS = {
  stage: {
    type: 'string',
    value: 'STAGE',
    description: 'boot: only files that do not need the node IP (registries.yaml, k0s drop-in); network, reconcile: everything (default)',
    choices: ['boot', 'network', 'reconcile'],
  },
  'dry-run': { type: 'boolean', description: 'print the planned changes as a diff and write nothing' },
} as const satisfies OptionSpecs;

export const HEALTH_OPTIONS = {
  wait: { type: 'string', value: 'DURATION', description: 'poll until healthy or until DURATION (e.g. 2m) has passed' },
} as const satisfies OptionSpecs;

export const PREPULL_OPTIONS = {
  ...PULL_OPTIONS,
  unpack: { type: 'boolean', description: 'also unpack it into the staging area now, so that upgrade only applies it' },
} as const satisfies OptionSpecs;

export const UPGRADE_OPTIONS = {
  ...PULL_OPTIONS,
  recovery: { type: 'boolean', description: 'upgrade the recovery system (kairos-agent upgrade --recovery)' },
  force: { type: 'boolean', description: 'apply even when the versions are equal, or the image has no kairos-release' },
  reboot: { type: 'boolean', description: 'reboot after a successful upgrade (after upgrade.reboot_delay)' },
} as const satisfies OptionSpecs;

export const STATUS_OPTIONS = {
  system: { type: 'boolean', description: "also show the node's OS, kernel, CPU, memory, the store's file system and the network interfaces" },
} as const satisfies OptionSpecs;

export const VALIDATE_OPTIONS = {} as const satisfies OptionSpecs;

export const METRICS_OPTIONS = {} as const satisfies OptionSpecs;

export const IMAGES_OPTIONS = {
  verify: { type: 'boolean', description: 'hash every blob of every image; exit 1 when one is damaged' },
} as const satisfies OptionSpecs;

export const CONFIG_OPTIONS = {} as const satisfies OptionSpecs;

export const VERSION_OPTIONS = {} as const satisfies OptionSpecs;

export const COMPLETION_OPTIONS = {} as const satisfies OptionSpecs;

/** The shells `completion` writes a script for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

export const GC_OPTIONS = {
  keep: { type: 'string', value: 'N', description: 'number of images to keep (default: store.keep)' },
  'dry-run': { type: 'boolean', description: 'say what would be deleted, delete nothing' },
} as const satisfies OptionSpecs;

/** Checks a command's implementation against its own option spec, then forgets the spec's type. */
function command<S extends OptionSpecs>(spec: CommandSpec<S>): CommandSpec {
  return spec as unknown as CommandSpec;
}

export const COMMANDS: CommandSpec[] = [
  command({
    name: 'configure',
    recorded: true,
    summary: "write the containerd / k3s / k0s mirror configuration for this node's Spegel",
    usage: 'kairos-spegel configure [--stage boot|network|reconcile] [--dry-run]',
    description: [
      "Points containerd at the Spegel mirror on this node's own IP, merged with what is already there:",
      '  containerd, k0s: <hosts_dir>/<registry>/hosts.toml (default <hosts_dir>/_default/hosts.toml)',
      '  k0s:             /etc/k0s/containerd.d/spegel.toml (config_path, discard_unpacked_layers = false)',
      '  k3s:             /etc/rancher/k3s/registries.yaml (mirrors for the embedded registry)',
      'Files are replaced atomically and only when their content changes. Known traps (Spegel owning',
      'the hosts directory, containerd config without config_path, ...) are reported with their fix.',
    ].join('\n'),
    options: CONFIGURE_OPTIONS,
    load: async () => (await import('./commands/configure.ts')).run,
  }),
  command({
    name: 'health',
    recorded: true,
    summary: "check that the node's mirror answers and the configuration around it is coherent",
    usage: 'kairos-spegel health [--wait DURATION]',
    description: [
      'For each mirror endpoint: TCP connect within the dial timeout, GET /v2/, GET /readyz (/healthz on',
      "Spegel before 0.4); and whether the mirror configuration on disk still names the node's current IP.",
      `Exit codes: ${EXIT_OK} healthy, ${EXIT_DEGRADED} degraded (an endpoint down or not ready, stale configuration, a known trap),`,
      `${EXIT_UNHEALTHY} unhealthy (no endpoint answers, or the mirror is not configured); ${EXIT_USAGE} a usage or configuration error.`,
    ].join('\n'),
    options: HEALTH_OPTIONS,
    load: async () => (await import('./commands/health.ts')).run,
  }),
  command({
    name: 'prepull',
    recorded: true,
    summary: "fetch an image into the node's store ahead of time, from peers first",
    usage: 'kairos-spegel prepull IMAGE [--platform OS/ARCH[/VARIANT]] [--upstream always|never|"after DURATION"] [--no-seed] [--unpack] [--verify]',
    description: [
      'Resolves IMAGE to a digest (at the upstream registry: peers can lie about tags, not digests), then',
      "fetches the manifests and layers through the mirrors in hosts.toml (the node's Spegel, i.e. its peers)",
      'and, as the WAN policy allows, from the upstream registry. Downloads resume after an interruption,',
      'also across runs; every blob is checked against its digest before it enters the store, an OCI image',
      'layout under kairos-spegel.store.path that skopeo and umoci read.',
    ].join('\n'),
    options: PREPULL_OPTIONS,
    load: async () => (await import('./commands/prepull.ts')).run,
  }),
  command({
    name: 'upgrade',
    recorded: true,
    summary: 'upgrade the node to IMAGE with kairos-agent, from the staged image (prepulled if needed)',
    usage: 'kairos-spegel upgrade IMAGE [--recovery] [--force] [--reboot] [--platform P] [--upstream POLICY] [--no-seed]',
    description: [
      'Stages IMAGE (from the store, so offline once prepulled; else prepulls it first), seeds it into containerd,',
      'compares its /etc/kairos-release with the node\'s as the Kairos operator does (equal: "up to date", nothing',
      "to do), then runs `kairos-agent upgrade --source dir:<rootfs>` on the node (without the NodeOp pod's",
      'KUBERNETES_SERVICE_HOST and HOST_DIR). The result is recorded; the staging is removed after success.',
    ].join('\n'),
    options: UPGRADE_OPTIONS,
    load: async () => (await import('./commands/upgrade.ts')).run,
  }),
  command({
    name: 'status',
    summary: 'show what is stored, staged, seeded and applied, and the bytes peers saved',
    usage: 'kairos-spegel status [--system]',
    description: [
      "The store's images with where their bytes came from, staged root filesystems and their versions, seeding, and the upgrade history.",
      'With --system, also the node: OS release and kernel, CPU, memory, the free space of the file system holding the',
      "store, and the network interfaces, the node IP's marked. A fact that cannot be read is left out with a note.",
    ].join('\n'),
    options: STATUS_OPTIONS,
    load: async () => (await import('./commands/status.ts')).run,
  }),
  command({
    name: 'metrics',
    summary: 'print the Prometheus metrics that are written to the node_exporter textfile collector',
    usage: 'kairos-spegel metrics',
    description: [
      'The metrics of status (per image: staged, seeded, applied, bytes from peers and from upstream; the store',
      "size and its filesystem's free space), each command's last run and the last health verdict, in the",
      'Prometheus text format. configure, health, prepull, upgrade and gc write the same text to',
      '<metrics.textfile_directory>/kairos_spegel.prom after each run, when that directory exists.',
    ].join('\n'),
    options: METRICS_OPTIONS,
    load: async () => (await import('./commands/metrics.ts')).run,
  }),
  command({
    name: 'validate',
    summary: "check cloud-config files (or the node's own) the way the agent reads them, changing nothing",
    usage: 'kairos-spegel validate [FILE...]',
    description: [
      "Reads each FILE as a cloud-config, as --config would, or without FILE the node's Kairos cloud-config",
      'directories (under --root), and reports every problem of the kairos-spegel: block at once, each at',
      'file:line:col with its key. Exit codes: 0 valid, 2 a problem (as for any configuration error).',
    ].join('\n'),
    options: VALIDATE_OPTIONS,
    operands: 'files',
    load: async () => (await import('./commands/validate.ts')).run,
  }),
  command({
    name: 'images',
    summary: 'list the images in the store, with the bytes taken from peers and from upstream',
    usage: 'kairos-spegel images [--verify]',
    description: 'Lists the images prepull stored, newest first. With --verify, hashes every blob and reports damaged ones (exit 1).',
    options: IMAGES_OPTIONS,
    load: async () => (await import('./commands/images.ts')).run,
  }),
  command({
    name: 'gc',
    recorded: true,
    summary: 'keep the most recent images in the store and delete the rest',
    usage: 'kairos-spegel gc [--keep N] [--dry-run]',
    description:
      'Keeps the N most recently pulled images (store.keep, default 2), deletes the others, their blobs and staged root filesystems, and interrupted downloads. Refused (E_LOCKED) while a pull, unpack or upgrade runs.',
    options: GC_OPTIONS,
    load: async () => (await import('./commands/gc.ts')).run,
  }),
  command({
    name: 'config',
    summary: 'show the effective configuration: every key, its value, and the file:line that set it',
    usage: 'kairos-spegel config',
    description: [
      "Reads the configuration as every command does (--config FILE, or the node's Kairos cloud-config",
      'directories under --root, merged as Kairos merges them) and prints each key of the kairos-spegel: block',
      'with its effective value and where it comes from: file:line, or "default". Says so when no file has',
      'a kairos-spegel: block. A configuration error is reported as by validate (exit 2).',
    ].join('\n'),
    options: CONFIG_OPTIONS,
    load: async () => (await import('./commands/config.ts')).run,
  }),
  command({
    name: 'version',
    summary: 'print the version, the commit and date it was built from, and the Node.js it runs on',
    usage: 'kairos-spegel version',
    description: 'The same as --version. With --json: {version, commit, build_date, node, arch}.',
    options: VERSION_OPTIONS,
    load: async () => (await import('./commands/version.ts')).run,
  }),
  command({
    name: 'completion',
    summary: 'print a shell completion script (bash, zsh or fish)',
    usage: 'kairos-spegel completion bash|zsh|fish',
    description: [
      'Prints a completion script for SHELL, generated from the command table: commands, their options and',
      'the values an option takes. For example:',
      '  bash: kairos-spegel completion bash > /etc/bash_completion.d/kairos-spegel',
      '  zsh:  kairos-spegel completion zsh > "${fpath[1]}/_kairos-spegel"',
      '  fish: kairos-spegel completion fish > ~/.config/fish/completions/kairos-spegel.fish',
    ].join('\n'),
    options: COMPLETION_OPTIONS,
    operands: SHELLS,
    load: async () => (await import('./commands/completion.ts')).completionCommand({ commands: COMMANDS, globals: GLOBAL_OPTIONS, shells: SHELLS }),
  }),
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
