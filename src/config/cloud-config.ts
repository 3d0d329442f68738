/**
 * Collects the Kairos cloud-config the way kairos-agent does (kairos-sdk collector.Scan,
 * agent constants.GetUserConfigDirs), so the agent sees the same merged config as Kairos:
 * the four directories in order (later wins), walked recursively in lexical order without
 * following directory symlinks; `.yaml`/`.yml` files only; a file needs a valid header in its
 * first lines; files of 2 MiB and more are skipped (Kairos' integer "> 1 MB" check).
 * `config_url` is not followed: fetching at boot is Kairos' job, and the agent must not wait
 * on the network to learn its own settings.
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import { mergeMaps } from './kairos-merge.ts';
import { parseYamlTree, type YamlSyntaxError, type YMap } from './yaml-tree.ts';

const CLOUD_CONFIG_DIRS = ['/run/initramfs/live', '/etc/kairos', '/usr/local/cloud-config', '/oem'] as const;

const VALID_HEADERS = ['#cloud-config', '#kairos-config', '#node-config'] as const;

export interface SkippedFile {
  file: string;
  reason: string;
  syntax?: YamlSyntaxError;
  /** Not an ordinary skip (a file without a cloud-config header is one): worth a warning. */
  unusual?: boolean;
}

export interface CloudConfig {
  /** The merged configuration. */
  values: YMap;
  /** Files that contributed, in merge order. */
  sources: string[];
  /** Files Kairos would skip too, and why. */
  skipped: SkippedFile[];
}

/** kairos-sdk HasValidHeader: a header line among the first lines (Go's SplitN(data, "\n", 10)). */
export function hasValidHeader(text: string): boolean {
  const parts = text.split('\n');
  const head = parts.slice(0, 9);
  if (parts.length > 9) head.push(parts.slice(9).join('\n'));
  return head.some((line) => {
    const trimmed = line.trimEnd();
    return trimmed.startsWith('#') && (VALID_HEADERS as readonly string[]).includes(trimmed);
  });
}

/** kairos-sdk fileSize: whole KiB, then whole MiB, compared with "> 1.0". */
function tooBig(size: number): boolean {
  return Math.floor(Math.floor(size / 1024) / 1024) > 1;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** filepath.Walk: lexical order, lstat (directory symlinks are not followed), errors ignored. */
async function walk(dir: string, out: string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names.sort(byteOrder)) {
    const full = path.join(dir, name);
    let info;
    try {
      info = await lstat(full);
    } catch {
      continue;
    }
    if (info.isDirectory()) await walk(full, out);
    else out.push(full);
  }
}

export async function collectCloudConfig(root: Root, dirs: readonly string[] = CLOUD_CONFIG_DIRS): Promise<CloudConfig> {
  const files: string[] = [];
  for (const d of dirs) {
    const real = root.path(d);
    try {
      if (!(await lstat(real)).isDirectory()) continue;
    } catch {
      continue;
    }
    await walk(real, files);
  }
  // Read each file through the root: a symlink in a node root must not lead to the machine's files.
  return mergeFiles(files.map((f) => root.path(`/${path.relative(root.path('/'), f)}`)));
}

async function mergeFiles(files: string[]): Promise<CloudConfig> {
  const result: CloudConfig = { values: { kind: 'map', entries: new Map(), loc: { file: '(none)' } }, sources: [], skipped: [] };
  for (const file of files) {
    const ext = path.extname(file);
    if (ext !== '.yaml' && ext !== '.yml') continue;
    try {
      const st = await stat(file);
      // A FIFO would block the read (and boot) forever; /dev/zero would never end.
      if (!st.isFile()) {
        result.skipped.push({ file, reason: 'not a regular file', unusual: true });
        continue;
      }
      if (tooBig(st.size)) {
        result.skipped.push({ file, reason: 'too big (2 MiB or more)', unusual: true });
        continue;
      }
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') result.skipped.push({ file, reason: errorMessage(err), unusual: true });
      continue;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      result.skipped.push({ file, reason: errorMessage(err), unusual: true });
      continue;
    }
    if (!hasValidHeader(text)) {
      result.skipped.push({ file, reason: `no valid header (${VALID_HEADERS.join(', ')}) in its first lines` });
      continue;
    }
    const parsed = parseYamlTree(text, file);
    if (!parsed.ok) {
      result.skipped.push({ file, reason: `YAML error: ${parsed.error.message}`, syntax: parsed.error });
      continue;
    }
    result.sources.push(file);
    if (parsed.root === undefined) continue;
    if (parsed.root.kind !== 'map') {
      result.skipped.push({ file, reason: 'the document is not a mapping' });
      continue;
    }
    result.values = mergeMaps(result.values, parsed.root);
  }
  return result;
}
