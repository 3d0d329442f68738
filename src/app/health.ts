/**
 * One health check of the node: are the mirror endpoints up, and does the
 * configuration on disk still match this node (its IP, the mirror ports, the
 * registries)? The result maps to health's exit codes.
 */
import { loadNodeContext, type NodeContext } from './node-context.ts';
import type { AppEnv } from './env.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, errorMessage, EXIT_DEGRADED, EXIT_OK, EXIT_UNHEALTHY } from '../errors.ts';
import { formatDuration } from '../util/duration.ts';
import { readTextFile } from '../fs/read-text.ts';
import type { Root } from '../fs/root.ts';
import { findTraps } from '../mirror/containerd-config.ts';
import { hostOrigin, parseHostsFile, resolveRegistryHosts } from '../hosts/hosts-file.ts';
import { renderK0sDropIn } from '../mirror/k0s-drop-in.ts';
import { readRegistriesYaml } from '../mirror/registries-yaml.ts';
import { hostsTomlTargets, mirrorHosts } from '../mirror/plan.ts';
import { DEFAULT_HOST_DIR } from '../registry/registry-name.ts';
import { containerdVersion } from '../node/containerd-version.ts';
import { k0sDropInVersion } from '../node/k0s-version.ts';
import { detectNodeIp, type NodeIp } from '../node/node-ip.ts';
import { probeEndpoint, type EndpointProbe, type HttpResult, type TlsFiles } from '../health/probe.ts';
import { warningOf, type Warning } from './configure.ts';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface ConfigFileState {
  file: string;
  state: 'current' | 'stale' | 'missing';
  detail: string | null;
}

export interface HttpCheck {
  path: string;
  status: number | null;
  error: string | null;
}

export interface EndpointState {
  url: string;
  tcp: { ok: boolean; ms: number | null; error: string | null };
  v2: HttpCheck | null;
  ready: HttpCheck | null;
  state: 'up' | 'not-ready' | 'down';
  reason: string | null;
}

export interface HealthReport {
  status: HealthStatus;
  exit_code: typeof EXIT_OK | typeof EXIT_DEGRADED | typeof EXIT_UNHEALTHY;
  distro: string;
  node_ip: string | null;
  /** The running containerd's version, which decides how its config is read; null (with why) when it could not be asked. */
  containerd: { version: string; reason: null } | { version: null; reason: string };
  endpoints: EndpointState[];
  config: ConfigFileState[];
  warnings: Warning[];
  /** Why the status is not healthy, one sentence each. */
  reasons: string[];
}

const EXIT_OF: Record<HealthStatus, HealthReport['exit_code']> = { healthy: EXIT_OK, degraded: EXIT_DEGRADED, unhealthy: EXIT_UNHEALTHY };

function httpCheck(r: HttpResult | undefined): HttpCheck | null {
  return r ? { path: r.path, status: r.status ?? null, error: r.error ?? null } : null;
}

function endpointState(e: EndpointProbe): EndpointState {
  return { url: e.url, tcp: { ok: e.tcp.ok, ms: e.tcp.ms ?? null, error: e.tcp.error ?? null }, v2: httpCheck(e.v2), ready: httpCheck(e.ready), state: e.state, reason: e.reason ?? null };
}

const HTTP_TIMEOUT_MS = 3000;

function readText(root: Root, nodePath: string): Promise<string | undefined> {
  return readTextFile(root.path(nodePath), nodePath);
}

interface Expectation {
  config: ConfigFileState[];
  endpoints: { url: string; tls?: TlsFiles }[];
}

/** containerd and k0s: the agent's own hosts.toml files must name this node's mirror URLs. */
async function expectHostsToml(ctx: NodeContext, root: Root, nodeIp: NodeIp): Promise<Expectation> {
  const wanted = mirrorHosts(ctx.agent, nodeIp).map((h) => h.url);
  const { targets } = await hostsTomlTargets(root, ctx.layout, ctx.agent);
  const config: ConfigFileState[] = [];
  for (const t of targets) {
    const file = `${ctx.layout.hostsDir}/${t.host}/hosts.toml`;
    const text = await readText(root, file);
    if (text === undefined) {
      config.push({ file, state: 'missing', detail: "run 'kairos-spegel configure'" });
      continue;
    }
    let present: string[];
    try {
      present = parseHostsFile(text, file, t.host === DEFAULT_HOST_DIR ? 'registry.invalid' : t.host)
        .filter((h) => !h.isServer)
        .map(hostOrigin);
    } catch (err) {
      config.push({ file, state: 'stale', detail: errorMessage(err) });
      continue;
    }
    const missing = wanted.filter((u) => !present.includes(u));
    config.push(
      missing.length === 0 ? { file, state: 'current', detail: null } : { file, state: 'stale', detail: `does not name ${missing.join(', ')} (it has ${present.join(', ') || 'no mirror'})` },
    );
  }
  if (ctx.layout.k0sDropIn !== undefined) {
    const text = await readText(root, ctx.layout.k0sDropIn);
    const expected = renderK0sDropIn(ctx.layout.hostsDir, (await k0sDropInVersion(ctx.agent.containerd.config_version)).version);
    config.push({ file: ctx.layout.k0sDropIn, state: text === undefined ? 'missing' : text === expected ? 'current' : 'stale', detail: null });
  }
  return { config, endpoints: wanted.map((url) => ({ url })) };
}

/** k3s: registries.yaml lists the registries, and k3s' generated hosts.toml names the embedded mirror on this node. */
async function expectK3s(ctx: NodeContext, root: Root, nodeIp: NodeIp): Promise<Expectation> {
  const file = ctx.layout.registriesYaml!;
  const names = ctx.agent.mirror.registries.length === 0 ? ['*'] : ctx.agent.mirror.registries.map((r) => (r.host === DEFAULT_HOST_DIR ? '*' : r.host));
  const text = await readText(root, file);
  const config: ConfigFileState[] = [];
  if (text === undefined) config.push({ file, state: 'missing', detail: "run 'kairos-spegel configure'" });
  else {
    try {
      const { mirrors } = readRegistriesYaml(text, file);
      const missing = names.filter((n) => !(n in mirrors));
      config.push(missing.length === 0 ? { file, state: 'current', detail: null } : { file, state: 'stale', detail: `mirrors does not list ${missing.join(', ')}` });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      config.push({ file, state: 'stale', detail: `${err.message}; k3s cannot read it either: fix it, or remove it and run 'kairos-spegel configure'` });
    }
  }
  const registry = names[0] === '*' ? 'docker.io' : names[0]!;
  const resolved = await resolveRegistryHosts(root, ctx.layout.hostsDir, registry);
  // k3s names its embedded registry by an address of this node (its IP, or loopback).
  const local = new Set([nodeIp.ip, '127.0.0.1', '::1', 'localhost']);
  const own = resolved.hosts.filter((h) => !h.isServer && local.has(new URL(`${h.scheme}://${h.host}`).hostname.replace(/^\[|\]$/g, '')));
  if (own.length === 0) {
    config.push({
      file: resolved.file ?? `${ctx.layout.hostsDir}/_default/hosts.toml`,
      state: 'missing',
      detail: 'k3s has not written its embedded mirror for this node (is embedded_registry enabled on the servers, and k3s running?)',
    });
  }
  return { config, endpoints: own.map((h) => ({ url: hostOrigin(h), tls: { ca: h.ca, client: h.client, skipVerify: h.skipVerify, declaredAt: h.declaredAt } })) };
}

async function checkOnce(ctx: NodeContext, root: Root): Promise<HealthReport> {
  const reasons: string[] = [];
  const asked = await containerdVersion(root, ctx.layout.socket, ctx.layout.ctr);
  const containerd = asked.version ? { version: asked.version.text, reason: null } : { version: null, reason: asked.reason };
  const warnings = (await findTraps(root, ctx.layout, asked.version)).map(warningOf);
  let nodeIp: NodeIp;
  try {
    nodeIp = await detectNodeIp({ nodeIp: ctx.agent.node_ip, iface: ctx.agent.interface, waitMs: 0 });
  } catch (err) {
    return { status: 'unhealthy', exit_code: EXIT_UNHEALTHY, distro: ctx.distro.distro, node_ip: null, containerd, endpoints: [], config: [], warnings, reasons: [errorMessage(err)] };
  }
  const exp = ctx.layout.distro === 'k3s' ? await expectK3s(ctx, root, nodeIp) : await expectHostsToml(ctx, root, nodeIp);
  const endpoints = await Promise.all(exp.endpoints.map((e) => probeEndpoint(e.url, { root, dialTimeoutMs: ctx.agent.mirror.dial_timeout, httpTimeoutMs: HTTP_TIMEOUT_MS, tls: e.tls })));

  for (const c of exp.config) if (c.state !== 'current') reasons.push(`${c.file} is ${c.state}${c.detail ? `: ${c.detail}` : ''}`);
  for (const e of endpoints) if (e.state !== 'up') reasons.push(`${e.url} is ${e.state}: ${e.reason}`);
  for (const w of warnings) reasons.push(`${w.file}${w.key ? ` ${w.key}` : ''} ${w.message}`);

  const notConfigured = exp.config.some((c) => c.state === 'missing') || endpoints.length === 0;
  const allDown = endpoints.length > 0 && endpoints.every((e) => e.state === 'down');
  const status: HealthStatus = notConfigured || allDown ? 'unhealthy' : reasons.length > 0 ? 'degraded' : 'healthy';
  return {
    status,
    exit_code: EXIT_OF[status],
    distro: ctx.distro.distro,
    node_ip: nodeIp.ip,
    containerd,
    endpoints: endpoints.map(endpointState),
    config: exp.config,
    warnings,
    reasons,
  };
}

export interface HealthRequest {
  /** Poll until healthy or until this many ms have passed; 0 checks once. */
  waitMs: number;
}

const POLL_MS = 1000;

/** One check, or checks every second until healthy or the wait is over. */
export async function checkHealth(env: AppEnv, req: HealthRequest): Promise<HealthReport> {
  const ctx = await loadNodeContext(env);
  const deadline = Date.now() + req.waitMs;
  let report = await checkOnce(ctx, env.root);
  while (report.status !== 'healthy' && Date.now() < deadline) {
    const left = deadline - Date.now();
    env.log.info({ status: report.status, reasons: report.reasons, left: formatDuration(Math.round(left / 100) * 100) }, 'waiting for the mirror to become healthy');
    await sleep(Math.min(POLL_MS, left), undefined, env.signal ? { signal: env.signal } : undefined);
    report = await checkOnce(ctx, env.root);
  }
  env.log.debug({ status: report.status }, 'health checked');
  return report;
}
