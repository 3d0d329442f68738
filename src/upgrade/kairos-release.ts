/**
 * Kairos versions from /etc/kairos-release (else /etc/os-release), compared the way the
 * Kairos operator's upgrade job does (https://github.com/kairos-io/kairos-operator, its
 * NodeOpUpgrade job script): the triple
 * `${KAIROS_VERSION}-${KAIROS_SOFTWARE_VERSION_PREFIX}${KAIROS_SOFTWARE_VERSION}`.
 * A staged rootfs is read through in-root path resolution: its /etc/kairos-release may
 * be a symlink, and it must not lead to the host's files.
 */
import { readFile } from 'node:fs/promises';
import { RootFs } from '../unpack/rootfs.ts';

export interface KairosVersion {
  /** The triple the operator compares. */
  triple: string;
  version: string;
  /** The file it came from (relative to its root). */
  file: string;
  fields: Record<string, string>;
}

/** os-release syntax: KEY=value, KEY="value with \"escapes\"", KEY='value'; # comments. */
function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    else if (v.startsWith("'") && v.endsWith("'") && v.length >= 2) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

export async function readKairosVersion(rootDir: string): Promise<KairosVersion | undefined> {
  const root = new RootFs(rootDir);
  for (const file of ['etc/kairos-release', 'etc/os-release']) {
    const real = root.resolveFile(file.split('/'), file);
    if (real === undefined) continue;
    const fields = parseOsRelease(await readFile(real, 'utf8'));
    const version = fields['KAIROS_VERSION'];
    if (version === undefined) continue;
    // The operator compares "<version>-<prefix><software>"; without a software version the
    // trailing "-" carries no information, so it is left out (on both sides alike).
    const software = `${fields['KAIROS_SOFTWARE_VERSION_PREFIX'] ?? ''}${fields['KAIROS_SOFTWARE_VERSION'] ?? ''}`;
    return { triple: software ? `${version}-${software}` : version, version, file: `/${file}`, fields };
  }
  return undefined;
}
