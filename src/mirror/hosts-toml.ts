/**
 * containerd hosts.toml with the node's Spegel mirror first, in the shape Spegel's own
 * `configuration` command writes (test/mirror/spegel-parity.test.ts compares the two),
 * merged into whatever the user has: their top-level keys (server, ca, client,
 * skip_verify, ...) and their other [host] tables stay, byte for byte and in their order,
 * after ours.
 *
 * The agent marks each table it owns with a comment line, so a later run can replace
 * its tables (new node IP, other ports) instead of adding more.
 */
import { ConfigError } from '../errors.ts';
import { formatDuration } from '../util/duration.ts';
import { joinToml, parseToml, splitToml, type TomlBlock } from '../hosts/toml-blocks.ts';

const MANAGED_MARK = '# managed by kairos-spegel';

export interface MirrorHost {
  url: string;
  capabilities: readonly string[];
  dialTimeoutMs: number;
}

export interface HostsTomlResult {
  text: string;
  /** Things the merge decided that the user should hear about. */
  notes: string[];
}

/** Literal TOML string; our URLs and capabilities never contain a quote. */
function lit(s: string): string {
  if (s.includes("'") || s.includes('\n')) throw new Error(`internal: cannot quote ${s}`);
  return `'${s}'`;
}

function renderHost(h: MirrorHost): string[] {
  return [MANAGED_MARK, `[host.${lit(h.url)}]`, `capabilities = [${h.capabilities.map(lit).join(', ')}]`, `dial_timeout = ${lit(formatDuration(h.dialTimeoutMs))}`];
}

function isManaged(b: TomlBlock): boolean {
  return b.path.length === 2 && b.path[0] === 'host' && b.lines.some((l) => l.trim() === MANAGED_MARK);
}

/**
 * @param existing current file content, or undefined when there is none
 * @param server   `server` to write when the file is created (explicit registries)
 */
export function mergeHostsToml(existing: string | undefined, hosts: MirrorHost[], file: string, server?: string): HostsTomlResult {
  const notes: string[] = [];
  const ours = new Set(hosts.map((h) => h.url));
  let preamble: string[] = [];
  let blocks: TomlBlock[] = [];
  if (existing !== undefined && existing.trim() !== '') {
    parseToml(existing, file);
    ({ preamble, blocks } = splitToml(existing));
  } else if (server !== undefined) {
    preamble = [`server = ${lit(server)}`];
  }

  const managedUrls = new Set(blocks.filter(isManaged).map((b) => b.path[1]!));
  const subTables = new Map<string, TomlBlock[]>();
  const userBlocks: TomlBlock[] = [];
  for (const b of blocks) {
    const url = b.path[0] === 'host' ? b.path[1] : undefined;
    if (url === undefined) {
      userBlocks.push(b);
    } else if (b.path.length === 2 && (isManaged(b) || ours.has(url))) {
      if (!isManaged(b)) notes.push(`replaced the table [host.'${url}'] written by someone else with the managed one`);
    } else if (b.path.length > 2 && (ours.has(url) || managedUrls.has(url))) {
      // Sub-tables (such as .header) of a mirror table go with it, or with it when it is gone.
      if (ours.has(url)) subTables.set(url, [...(subTables.get(url) ?? []), b]);
      else notes.push(`dropped [${b.path.join('.')}]: its mirror ${url} is no longer configured`);
    } else {
      userBlocks.push(b);
    }
  }

  const sections = [preamble, ...hosts.flatMap((h) => [renderHost(h), ...(subTables.get(h.url) ?? []).map((b) => b.lines)]), ...userBlocks.map((b) => b.lines)];
  const text = joinToml(sections);
  try {
    parseToml(text, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(
      [{ at: { file }, key: '', message: `cannot add the mirror tables to this file: ${err.problems[0]?.message ?? err.message}` }],
      'write the host entries as [host."URL"] tables (not an inline `host = {...}`), then run configure again',
    );
  }
  return { text, notes };
}
