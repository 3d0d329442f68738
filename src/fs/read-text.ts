/**
 * Reads a text file a person or a package put on the node (the agent's configuration,
 * hosts.toml, registries.yaml, docker's config.json, containerd's config.toml) for a parser
 * that takes it whole. A missing file is `undefined`. A FIFO or a socket is refused (a read
 * would wait forever); a regular file or a character device (`--config /dev/null` is an
 * empty configuration) is read up to MAX_TEXT_BYTES, and one longer than that (/dev/zero
 * never ends) is refused. Refusals are E_CONFIG naming the file.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { formatBytes } from '../util/units.ts';
import { ConfigError, errnoCode } from '../errors.ts';

/** Far above any real configuration file, far below what would strain an edge node. */
const MAX_TEXT_BYTES = 4 * 2 ** 20;

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
  const refuse = (message: string) => new ConfigError([{ at: { file: shown }, key: '', message }]);
  const tooBig = (size?: string) => refuse(`${size ? `${size}, ` : ''}more than the ${formatBytes(MAX_TEXT_BYTES)} a configuration file may have; refusing to read it`);
  try {
    const st = await fh.stat();
    if (!st.isFile() && !st.isCharacterDevice()) throw refuse('not a regular file; refusing to read it');
    if (st.size > MAX_TEXT_BYTES) throw tooBig(formatBytes(st.size));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await fh.read({ buffer: Buffer.allocUnsafe(64 * 1024) });
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_TEXT_BYTES) throw tooBig();
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await fh.close();
  }
}
