/**
 * The node's facts as Prometheus text exposition format, for node_exporter's textfile
 * collector (which reads `*.prom` files) and for `kairos-spegel metrics`. A pure function:
 * the app layer collects the facts, this only names and formats them, so the file and the
 * command print the same bytes.
 * Format: https://prometheus.io/docs/instrumenting/exposition_formats/
 */

export type MirrorHealth = 'healthy' | 'degraded' | 'unhealthy';

export interface ImageFacts {
  image: string;
  /** The image manifest's digest: one label value that joins every image series. */
  digest: string;
  staged: boolean;
  seeded: boolean;
  /** Its last upgrade succeeded. */
  applied: boolean;
  bytesFromPeers: number;
  bytesFromUpstream: number;
}

export interface RunFacts {
  command: string;
  /** Unix seconds. */
  at: number;
  exitCode: number;
}

export interface MetricFacts {
  images: ImageFacts[];
  /** Every pull so far. */
  bytesFromPeers: number;
  bytesFromUpstream: number;
  runs: RunFacts[];
  /** The last completed health check, absent when there is none. */
  health?: MirrorHealth;
  storeSizeBytes: number;
  /** Absent when the filesystem could not be asked. */
  storeFreeBytes?: number;
}

/** Label values escape backslash, double quote and newline, as the text format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

type Labels = Record<string, string>;

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels?: Labels; value: number }[];
}

function sample(name: string, labels: Labels | undefined, value: number): string {
  const pairs = Object.entries(labels ?? {}).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${value}`;
}

const HEALTH_VALUE: Record<MirrorHealth, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

const P = 'kairos_spegel_';

export function renderMetrics(f: MetricFacts): string {
  const img = (i: ImageFacts) => ({ image: i.image, digest: i.digest });
  const perImage = (name: string, type: Family['type'], help: string, value: (i: ImageFacts) => number): Family => ({
    name: P + name,
    type,
    help,
    samples: f.images.map((i) => ({ labels: img(i), value: value(i) })),
  });
  const perRun = (name: string, help: string, value: (r: RunFacts) => number): Family => ({
    name: P + name,
    type: 'gauge',
    help,
    samples: f.runs.map((r) => ({ labels: { command: r.command }, value: value(r) })),
  });
  const families: Family[] = [
    perImage('image_staged', 'gauge', '1 when the image is unpacked in the staging area, ready for upgrade.', (i) => Number(i.staged)),
    perImage('image_seeded', 'gauge', "1 when the image was given to the node's containerd, so Spegel offers it to the peers.", (i) => Number(i.seeded)),
    perImage('image_applied', 'gauge', '1 when the last upgrade to the image succeeded.', (i) => Number(i.applied)),
    perImage('image_peer_bytes_total', 'counter', "Bytes of the image downloaded from peers (the node's mirrors).", (i) => i.bytesFromPeers),
    perImage('image_upstream_bytes_total', 'counter', 'Bytes of the image downloaded from the upstream registry.', (i) => i.bytesFromUpstream),
    { name: `${P}peer_bytes_total`, type: 'counter', help: 'Bytes downloaded from peers by every pull so far.', samples: [{ value: f.bytesFromPeers }] },
    { name: `${P}upstream_bytes_total`, type: 'counter', help: 'Bytes downloaded from upstream registries by every pull so far.', samples: [{ value: f.bytesFromUpstream }] },
    perRun('last_run_timestamp_seconds', 'When the last run of the command ended, in unix seconds.', (r) => r.at),
    perRun('last_run_success', '1 when the last run of the command exited 0.', (r) => Number(r.exitCode === 0)),
    perRun('last_run_exit_code', 'Exit code of the last run of the command.', (r) => r.exitCode),
    {
      name: `${P}mirror_health`,
      type: 'gauge',
      help: 'Result of the last completed health check: 0 healthy, 1 degraded, 2 unhealthy.',
      samples: f.health === undefined ? [] : [{ value: HEALTH_VALUE[f.health] }],
    },
    { name: `${P}store_size_bytes`, type: 'gauge', help: 'Bytes of the files in the image store.', samples: [{ value: f.storeSizeBytes }] },
    {
      name: `${P}store_free_bytes`,
      type: 'gauge',
      help: "Bytes available to the agent on the store's filesystem.",
      samples: f.storeFreeBytes === undefined ? [] : [{ value: f.storeFreeBytes }],
    },
  ];
  // A family without samples is left out whole: HELP and TYPE alone would announce a series that does not exist.
  return families
    .filter((fam) => fam.samples.length > 0)
    .map((fam) => [`# HELP ${fam.name} ${fam.help}`, `# TYPE ${fam.name} ${fam.type}`, ...fam.samples.map((s) => sample(fam.name, s.labels, s.value))].join('\n'))
    .join('\n')
    .concat('\n');
}
