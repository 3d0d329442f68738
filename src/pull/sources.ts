/** The sources for one registry, from the node's hosts configuration, with their connections and auth. */
import type { Root } from '../fs/root.ts';
import { hostOrigin, resolveRegistryHosts } from '../mirror/hosts-file.ts';
import { Authorizer } from '../registry/auth/authorizer.ts';
import type { CredentialStore } from '../registry/auth/credentials.ts';
import { connectTimeout, createDispatcher, loadTls, type Source } from '../registry/source.ts';

export async function buildSources(root: Root, hostsDir: string, registry: string, credentials: CredentialStore): Promise<{ sources: Source[]; hostsFile?: string }> {
  const resolved = await resolveRegistryHosts(root, hostsDir, registry);
  const sources: Source[] = [];
  for (const host of resolved.hosts) {
    const tls = await loadTls(root, host);
    const dispatcher = createDispatcher(host, tls);
    const role = host.isServer ? 'upstream' : 'mirror';
    sources.push({
      origin: hostOrigin(host),
      role,
      host,
      registry,
      dispatcher,
      tls,
      connectTimeoutMs: connectTimeout(host),
      ...(role === 'upstream' ? { authorizer: new Authorizer(registry, credentials.lookup(registry), dispatcher) } : {}),
    });
  }
  return { sources, ...(resolved.file ? { hostsFile: resolved.file } : {}) };
}

export async function closeSources(sources: Source[]): Promise<void> {
  await Promise.all(sources.map((s) => s.dispatcher.close().catch(() => undefined)));
}
