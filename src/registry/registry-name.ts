/**
 * Registries the mirror configuration covers, named the way Spegel's
 * `--mirrored-registries` names them: a URL such as `https://docker.io`, or (our
 * addition) a bare host such as `ghcr.io` meaning https. `_default` and `*` mean
 * every registry and map to containerd's `_default` hosts directory.
 */

export const DEFAULT_HOST_DIR = '_default';

export interface MirroredRegistry {
  /** containerd hosts-directory name: `docker.io`, `registry.local:5000`, or `_default`. */
  host: string;
  /** Where the registry itself answers (hosts.toml `server`); absent for `_default`. */
  server?: string;
}

export const ALL_REGISTRIES: MirroredRegistry = { host: DEFAULT_HOST_DIR };

/** Parses one entry; returns a reason string when it is not a registry. */
export function parseMirroredRegistry(text: string): MirroredRegistry | string {
  if (text === '_default' || text === '*') return ALL_REGISTRIES;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return 'not a registry host or URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'registry URL scheme must be http or https';
  if (url.username || url.password) return 'registry URL must not contain credentials';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return 'registry URL must have no path, query or fragment';
  const host = url.host;
  // Spegel writes the Docker Hub API host as server for docker.io, as containerd resolves it.
  const server = host === 'docker.io' ? 'https://registry-1.docker.io' : `${url.protocol}//${host}`;
  return { host, server };
}
