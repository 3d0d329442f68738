/**
 * The TLS settings hosts.toml gives a host: CA files, a client certificate, skip_verify.
 * A file that cannot be read or is not PEM is a configuration error naming the hosts.toml
 * key that points at it, found before any request instead of as a failed connection.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { ConfigError, errnoCode, errorMessage } from '../../errors.ts';
import type { Root } from '../../fs/root.ts';
import type { RegistryHost } from '../../hosts/hosts-file.ts';

export interface TlsOptions {
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

/** A host's TLS files (node paths, read under --root) and where hosts.toml names them. */
export type TlsFiles = Pick<RegistryHost, 'ca' | 'client' | 'skipVerify' | 'declaredAt'>;

const ERRNO_WORDS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'a directory, not a file' };

export async function loadTls(root: Root, files: TlsFiles): Promise<TlsOptions> {
  const problem = (setting: 'ca' | 'client', p: string, why: string) => {
    const at = files.declaredAt;
    return new ConfigError([{ at: { file: at?.file ?? p }, key: at?.key ? `${at.key}.${setting}` : setting, message: `${p}: ${why}` }], `fix the ${setting} path in hosts.toml, or put the file there`);
  };
  const read = async (setting: 'ca' | 'client', p: string) => {
    try {
      return await readFile(root.path(p), 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      throw problem(setting, p, `cannot read it: ${(code && ERRNO_WORDS[code]) ?? errorMessage(err)}`);
    }
  };
  /** What the TLS stack would refuse at the first connection, said now. */
  const usable = (setting: 'ca' | 'client', p: string, opts: TlsOptions) => {
    try {
      createSecureContext(opts);
    } catch (err) {
      throw problem(setting, p, `not a usable ${setting === 'ca' ? 'CA certificate' : 'client certificate and key'} (${errorMessage(err)})`);
    }
  };
  const tls: TlsOptions = {};
  if (files.ca) {
    tls.ca = await Promise.all(
      files.ca.map(async (p) => {
        const ca = await read('ca', p);
        usable('ca', p, { ca: [ca] });
        return ca;
      }),
    );
  }
  const pair = files.client?.[0];
  if (pair) {
    tls.cert = await read('client', pair[0]);
    tls.key = await read('client', pair[1] || pair[0]);
    usable('client', pair[1] || pair[0], { cert: tls.cert, key: tls.key });
  }
  if (files.skipVerify) tls.rejectUnauthorized = false;
  return tls;
}
