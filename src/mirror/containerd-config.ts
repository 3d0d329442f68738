/**
 * Known traps around the mirror configuration, each reported with the file, the key and
 * the fix: what stops containerd from reading hosts.toml for Kubernetes pulls (no or
 * another config_path, or a path list its transfer service misreads), what stops the node
 * from serving layers (discard_unpacked_layers), and Spegel's own init container. The agent
 * never edits containerd's own config: a change there needs a containerd restart, which is
 * the node owner's call.
 */
import { readdir } from 'node:fs/promises';
import { errnoCode, errorMessage } from '../errors.ts';
import { readTextFile } from '../fs/read-text.ts';
import type { Root } from '../fs/root.ts';
import { atLeast, type ContainerdVersion } from '../node/containerd-version.ts';
import type { Layout } from './layout.ts';
import { parseToml } from '../hosts/toml-blocks.ts';

export interface Finding {
  /** Stable identifier, for --json and tests. */
  code: string;
  file: string;
  key?: string;
  message: string;
  fix: string;
}

type Table = Record<string, unknown>;

function table(v: unknown): Table | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Table) : undefined;
}

/** containerd 2.2 and later, when neither config_path nor mirrors is set (plugins/cri/images/plugin.go). */
const DEFAULT_CONFIG_PATH = '/etc/containerd/certs.d:/etc/docker/certs.d';

/**
 * The CRI image settings of a containerd config, wherever its version keeps them: version 3
 * in the images plugin; version 2 in the CRI plugin (and its `containerd` table), which
 * containerd 2 migrates there (plugins/cri/images/plugin.go, configMigration).
 */
interface CriImages {
  /** Table holding registry, max_concurrent_downloads, ... */
  prefix: string;
  registry?: Table;
  discard?: unknown;
  discardKey: string;
  /** Settings that make containerd 2.1+ pull without the transfer service (internal/cri/config CheckLocalImagePullConfigs). */
  local: { useLocalImagePull?: unknown; maxConcurrentDownloads?: unknown; withSyncFs?: unknown; disableSnapshotAnnotations?: unknown };
}

function criImages(cfg: Table): CriImages {
  const plugins = table(cfg['plugins']) ?? {};
  const version = typeof cfg['version'] === 'number' ? cfg['version'] : 1;
  if (version >= 3) {
    const images = table(plugins['io.containerd.cri.v1.images']);
    const prefix = 'plugins."io.containerd.cri.v1.images"';
    return {
      prefix,
      registry: table(images?.['registry']),
      discard: images?.['discard_unpacked_layers'],
      discardKey: `${prefix}.discard_unpacked_layers`,
      local: {
        useLocalImagePull: images?.['use_local_image_pull'],
        maxConcurrentDownloads: images?.['max_concurrent_downloads'],
        withSyncFs: images?.['image_pull_with_sync_fs'],
        disableSnapshotAnnotations: images?.['disable_snapshot_annotations'],
      },
    };
  }
  const name = version === 2 ? 'io.containerd.grpc.v1.cri' : 'cri';
  const cri = table(plugins[name]);
  const runtime = table(cri?.['containerd']);
  const prefix = `plugins.${JSON.stringify(name)}`;
  return {
    prefix,
    registry: table(cri?.['registry']),
    discard: runtime?.['discard_unpacked_layers'],
    discardKey: `${prefix}.containerd.discard_unpacked_layers`,
    local: { maxConcurrentDownloads: cri?.['max_concurrent_downloads'], withSyncFs: cri?.['image_pull_with_sync_fs'], disableSnapshotAnnotations: runtime?.['disable_snapshot_annotations'] },
  };
}

function nonEmpty(v: unknown): boolean {
  const t = table(v);
  return t !== undefined && Object.keys(t).length > 0;
}

/**
 * Whether Kubernetes pulls go through containerd's transfer service (containerd 2.1 and later,
 * unless a setting the transfer service lacks sends them back to the local pull). That path
 * reads config_path as one directory, so a list such as containerd's own default finds no
 * hosts.toml (containerd/containerd#12808, #12415).
 */
function pullsThroughTransferService(cri: CriImages, version: ContainerdVersion | undefined): boolean {
  if (version !== undefined && !atLeast(version, 2, 1)) return false;
  const l = cri.local;
  const local =
    l.useLocalImagePull === true ||
    cri.discard === true ||
    nonEmpty(cri.registry?.['mirrors']) ||
    nonEmpty(cri.registry?.['configs']) ||
    nonEmpty(cri.registry?.['auths']) ||
    (typeof l.maxConcurrentDownloads === 'number' && l.maxConcurrentDownloads !== 3) ||
    l.withSyncFs === true ||
    l.disableSnapshotAnnotations === false;
  return !local;
}

function describeVersion(version: ContainerdVersion | undefined): string {
  return version ? `containerd ${version.text}` : 'containerd (version unknown, taken as 2.2 or later)';
}

/**
 * @param text    the config's content; undefined when the file does not exist (containerd runs on its defaults)
 * @param version the running containerd's; undefined when it could not be asked (judged as current releases behave)
 */
export function inspectContainerdConfig(text: string | undefined, file: string, hostsDir: string, version?: ContainerdVersion): Finding[] {
  let cfg: Table = { version: 3 };
  if (text !== undefined) {
    try {
      cfg = parseToml(text, file);
    } catch (err) {
      return [{ code: 'containerd-config-invalid', file, message: errorMessage(err), fix: 'fix the TOML syntax; containerd will not start with it either' }];
    }
  }
  const out: Finding[] = [];
  const cri = criImages(cfg);
  const registryKey = `${cri.prefix}.registry`;
  const imagesKey = 'plugins."io.containerd.cri.v1.images"';
  const explicit = typeof cri.registry?.['config_path'] === 'string' && cri.registry['config_path'] !== '' ? cri.registry['config_path'] : undefined;
  const defaulted = explicit === undefined && (version === undefined || atLeast(version, 2, 2)) && !nonEmpty(cri.registry?.['mirrors']);
  const configPath = explicit ?? (defaulted ? DEFAULT_CONFIG_PATH : undefined);
  const where = text === undefined ? 'does not exist' : `sets no ${registryKey}.config_path`;
  if (configPath === undefined) {
    out.push({
      code: text === undefined ? 'containerd-config-missing' : 'containerd-no-config-path',
      file,
      key: `${registryKey}.config_path`,
      message: `${text === undefined ? 'does not exist, and ' : ''}is not set: ${describeVersion(version)} then has no hosts directory, so Kubernetes image pulls ignore hosts.toml and never ask the mirror`,
      fix: `set config_path = "${hostsDir}" under [${registryKey}] and restart containerd`,
    });
  } else if (configPath.includes(':') && pullsThroughTransferService(cri, version)) {
    out.push({
      code: 'containerd-config-path-list',
      file,
      key: `${registryKey}.config_path`,
      message: `${explicit ? `is "${configPath}"` : `${where}: ${describeVersion(version)} uses its default "${configPath}"`}; its Kubernetes pulls go through the transfer service, which reads a list as one directory, so hosts.toml is ignored and the mirror never asked (containerd/containerd#12808)`,
      fix: `set config_path = "${hostsDir}" (one directory) under [${registryKey}], or use_local_image_pull = true under [${imagesKey}], and restart containerd`,
    });
  } else if (!configPath.split(':').includes(hostsDir)) {
    out.push({
      code: 'containerd-other-config-path',
      file,
      key: `${registryKey}.config_path`,
      message: `is "${configPath}"${explicit ? '' : ` (${describeVersion(version)}'s default)`}, but the agent writes hosts.toml to ${hostsDir}`,
      fix: `set containerd.hosts_dir: ${configPath.split(':')[0]} in the kairos-spegel block, or config_path = "${hostsDir}"`,
    });
  }
  if (cri.discard === true) {
    out.push({
      code: 'containerd-discards-layers',
      file,
      key: cri.discardKey,
      message: 'is true: containerd deletes compressed layers after unpacking, so this node cannot serve them to its peers',
      fix: 'set it to false and restart containerd',
    });
  }
  if (cri.registry?.['mirrors'] !== undefined) {
    out.push({
      code: 'containerd-legacy-mirrors',
      file,
      key: `${registryKey}.mirrors`,
      message: 'uses the legacy mirrors setting, which containerd refuses together with config_path',
      fix: `move each mirror into ${hostsDir}/<registry>/hosts.toml and delete the mirrors table`,
    });
  }
  return out;
}

/**
 * All trap checks for a node: containerd's config (judged by the version of the containerd
 * that runs, when it can be asked) and Spegel's ownership of the hosts dir.
 */
export async function findTraps(root: Root, layout: Layout, version?: ContainerdVersion): Promise<Finding[]> {
  const out: Finding[] = [];
  if (layout.writesHostsToml) {
    try {
      const entries = await readdir(root.path(layout.hostsDir));
      if (entries.includes('_backup')) {
        out.push({
          code: 'spegel-owns-hosts-dir',
          file: `${layout.hostsDir}/_backup`,
          message: "exists: Spegel's init container manages this directory and deletes every other file in it when its pod starts, the agent's included",
          fix: 'set spegel.containerdMirrorAdd: false in the Spegel Helm values, so only kairos-spegel writes the mirror configuration',
        });
      }
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  if (layout.containerdConfig !== undefined) {
    const text = await readTextFile(root.path(layout.containerdConfig), layout.containerdConfig);
    out.push(...inspectContainerdConfig(text, layout.containerdConfig, layout.hostsDir, version));
  }
  return out;
}
