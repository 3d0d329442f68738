/** The sources for one registry, from the node's hosts configuration, with their connections and auth. */
import type { Root } from '../fs/root.ts';
import type { Logger } from '../log/logger.ts';
import { isLoopbackHost, sharesNodeNetwork, splitHostPort } from '../node/network-namespace.ts';
import { tcpConnect } from '../node/tcp-connect.ts';
import { resolveRegistryHosts } from '../hosts/hosts-file.ts';
import type { CredentialStore } from './credentials.ts';
import { openSource, type Source } from '../registry/source.ts';

/** `deadlineMs`: the whole of a bounded exchange (a token) within this (pull.stall_after). */
export async function buildSources(root: Root, hostsDir: string, registry: string, credentials: CredentialStore, deadlineMs: number): Promise<{ sources: Source[]; hostsFile?: string }> {
  const resolved = await resolveRegistryHosts(root, hostsDir, registry);
  const sources: Source[] = [];
  for (const host of resolved.hosts) sources.push(await openSource(root, host, registry, { credential: credentials.lookup(registry), deadlineMs }));
  return { sources, ...(resolved.file ? { hostsFile: resolved.file } : {}) };
}

export async function closeSources(sources: Source[]): Promise<void> {
  await Promise.all(sources.map((s) => s.transport.close()));
}

/**
 * Says so, loudly, when a mirror on loopback cannot be reached and this process may not be in
 * the node's network namespace (a NodeOp pod: /proc shows another namespace, or cannot tell):
 * 127.0.0.1 is then the pod's, and without the mirror the pull goes to the upstream registry
 * or waits for nothing. Returns the mirrors it warned about.
 */
export async function warnUnreachableLoopbackMirrors(sources: Source[], log: Logger): Promise<string[]> {
  const loopback = sources.filter((s) => s.role === 'mirror' && isLoopbackHost(s.host.host));
  if (loopback.length === 0 || (await sharesNodeNetwork()) === true) return [];
  const unreachable: string[] = [];
  for (const s of loopback) {
    const { host, port = s.host.scheme === 'https' ? 443 : 80 } = splitHostPort(s.host.host);
    if (!(await tcpConnect(host, port, Math.min(s.transport.connectTimeoutMs, 2000))).ok) unreachable.push(s.origin);
  }
  if (unreachable.length === 0) return [];
  log.warn(
    { mirrors: unreachable, hint: "point the mirror at the node's IP (kairos-spegel configure does), or run on the node itself (a shell, or nsenter --net=/proc/1/ns/net)" },
    "mirror on loopback does not answer, and this process may not be in the node's network namespace (a pod without hostNetwork, such as a Kairos operator NodeOp job, has a loopback of its own)",
  );
  return unreachable;
}
