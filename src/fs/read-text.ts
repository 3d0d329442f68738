/**
 * Reads a text file a person or a package put on the node (the agent's configuration,
 * hosts.toml, registries.yaml, docker's config.json, containerd's config.toml) for a parser
 * that takes it whole. A missing file is `undefined`. Anything but a regular file (a FIFO
 * would block the read forever, /dev/zero never ends) and anything over MAX_TEXT_BYTES is
 * refused with E_CONFIG naming it, before a byte is read.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { formatBytes } from '../config/units.ts';
import { ConfigError, errnoCode } from '../errors.ts';

/** Far above any real configuration file, far below what would strain an edge node. */
export const MAX_TEXT_BYTES = 4 * 2 ** 20;

/** `file` is a host path (already resolved under --root); `shown` is the name errors give. */
export async function readTextFile(file: string, shown = file): Promise<string | undefined> {
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores it.
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ConfigError([{ at: { file: shown }, key: '', message: 'not a regular file; refusing to read it' }]);
    if (st.size > MAX_TEXT_BYTES) throw new ConfigError([{ at: { file: shown }, key: '', message: `${formatBytes(st.size)}, more than the ${formatBytes(MAX_TEXT_BYTES)} a configuration file may have; refusing to read it` }]);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}
