/**
 * Known traps around the mirror configuration (reference/spegel.md §1, §4), each
 * reported with the file, the key and the fix. The agent never edits containerd's
 * own config: a change there needs a containerd restart, which is the node owner's call.
 */
import { readdir, readFile } from 'node:fs/promises';
import { errnoCode, errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import type { Layout } from './layout.ts';
import { parseToml } from './toml-blocks.ts';

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

/** The CRI image settings of a containerd config, by config version. */
function criImages(cfg: Table): { prefix: string; registry?: Table; discard?: unknown; discardKey: string } {
  const plugins = table(cfg['plugins']) ?? {};
  const version = typeof cfg['version'] === 'number' ? cfg['version'] : 1;
  if (version >= 3) {
    const images = table(plugins['io.containerd.cri.v1.images']);
    const prefix = 'plugins."io.containerd.cri.v1.images"';
    return { prefix, registry: table(images?.['registry']), discard: images?.['discard_unpacked_layers'], discardKey: `${prefix}.discard_unpacked_layers` };
  }
  const name = version === 2 ? 'io.containerd.grpc.v1.cri' : 'cri';
  const cri = table(plugins[name]);
  const prefix = `plugins.${JSON.stringify(name)}`;
  return {
    prefix,
    registry: table(cri?.['registry']),
    discard: table(cri?.['containerd'])?.['discard_unpacked_layers'],
    discardKey: `${prefix}.containerd.discard_unpacked_layers`,
  };
}

export function inspectContainerdConfig(text: string, file: string, hostsDir: string): Finding[] {
  let cfg: Table;
  try {
    cfg = parseToml(text, file);
  } catch (err) {
    return [{ code: 'containerd-config-invalid', file, message: errorMessage(err), fix: 'fix the TOML syntax; containerd will not start with it either' }];
  }
  const out: Finding[] = [];
  const cri = criImages(cfg);
  const configPath = cri.registry?.['config_path'];
  const registryKey = `${cri.prefix}.registry`;
  if (typeof configPath !== 'string' || configPath === '') {
    out.push({
      code: 'containerd-no-config-path',
      file,
      key: `${registryKey}.config_path`,
      message: 'is not set, so Kubernetes image pulls ignore hosts.toml and never ask the mirror',
      fix: `set config_path = "${hostsDir}" under [${registryKey}] and restart containerd`,
    });
  } else if (!configPath.split(':').includes(hostsDir)) {
    out.push({
      code: 'containerd-other-config-path',
      file,
      key: `${registryKey}.config_path`,
      message: `is "${configPath}", but the agent writes hosts.toml to ${hostsDir}`,
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

/** All trap checks for a node: containerd's config and Spegel's ownership of the hosts dir. */
export async function findTraps(root: Root, layout: Layout): Promise<Finding[]> {
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
    let text: string | undefined;
    try {
      text = await readFile(root.path(layout.containerdConfig), 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      out.push({
        code: 'containerd-config-missing',
        file: layout.containerdConfig,
        message: "does not exist; containerd's built-in defaults set no config_path, so Kubernetes pulls ignore hosts.toml",
        fix: `create it with config_path = "${layout.hostsDir}" for the CRI registry (see the Spegel docs) and restart containerd`,
      });
    } else {
      out.push(...inspectContainerdConfig(text, layout.containerdConfig, layout.hostsDir));
    }
  }
  return out;
}
