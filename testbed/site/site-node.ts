/**
 * One node of the site for one scenario: a fresh Kairos-like root (cloud-config,
 * containerd config, the user's hosts.toml for the plain-HTTP upstream, kairos-release),
 * `kairos-spegel configure` run in the node's namespace, its own containerd (2.2) reading
 * the hosts dir configure wrote, and real Spegel on the node IP's mirror ports (the Helm
 * chart's hostPort and NodePort), serving that containerd's content and finding its peers
 * through libp2p, bootstrapped over HTTP from another node, as without Kubernetes. A node
 * without a mirror (the baseline) skips configure and Spegel: containerd and the agent
 * talk to the upstream alone. A node that upgrades gets a disk (testbed/kairos-install.ts)
 * the first time, and `kairos-spegel upgrade` runs on its root as `/`, handing the image to
 * the real kairos-agent.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAgent } from '../agent.ts';
import { startContainerd, type Containerd } from '../containerd.ts';
import { defaultContainerd, defaultKairosAgent } from '../peers.ts';
import { kairosRelease } from '../kairos-image.ts';
import { installKairosNode, type InstalledNode } from '../kairos-install.ts';
import { run, type RunResult } from '../proc.ts';
import { startSpegel, sumSamples, type Spegel } from '../spegel.ts';
import type { SiteHost } from './topology.ts';

/**
 * The chart's hostPort: Spegel's registry on the node IP, where configure points containerd.
 * Only that one: the chart's other port, 30021, is a NodePort Service, which needs kube-proxy.
 */
export const MIRROR_PORT = 30020;
const ROUTER_PORT = 5001;
const METRICS_PORT = 9090;
/** Where each node's Spegel serves its libp2p identity for HTTP bootstrap. */
export const BOOTSTRAP_PORT = 5002;
/** Room on the state partition for active.img, and a transition image of the site's image plus 100 MiB. */
const STATE_MIB = 1024;

export interface NodeOptions {
  /** host:port of the upstream registry (plain HTTP). */
  registry: string;
  /** The Kairos version installed on the node. */
  installed: string;
  /** Run Spegel, bootstrapping from the node at this IP (its /id); undefined: no mirror. */
  bootstrapFrom?: string;
}

/** What a node's Spegel says it did, from its /metrics. */
export interface SpegelCounts {
  /** Mirror requests for content this node lacked, by whether a peer had it. */
  hits: number;
  misses: number;
  /** Registry API GETs answered 200, and their body bytes: to containerd and to peers. */
  served: number;
  servedBytes: number;
}

export interface AgentRun extends RunResult {
  started: number;
  ended: number;
  json?: Record<string, unknown>;
}

export class SiteNode {
  readonly host: SiteHost;
  readonly dir: string;
  readonly root: string;
  private containerd?: Containerd;
  private spegel?: Spegel;
  private installed?: InstalledNode;
  private installedVersion = '';

  constructor(host: SiteHost, dir: string) {
    this.host = host;
    this.dir = dir;
    this.root = path.join(dir, 'root');
  }

  get name(): string {
    return this.host.label;
  }

  get mirror(): string {
    return `${this.host.ip}:${MIRROR_PORT}`;
  }

  async start(opts: NodeOptions): Promise<void> {
    const r = this.root;
    const hostsDir = path.join(r, 'etc/containerd/certs.d');
    mkdirSync(path.join(r, 'oem'), { recursive: true });
    mkdirSync(path.join(hostsDir, opts.registry), { recursive: true });
    writeFileSync(
      path.join(r, 'oem/90_kairos-spegel.yaml'),
      `#cloud-config\nkairos-spegel:\n  distro: containerd\n  mirror:\n    ports: [${MIRROR_PORT}]\n  containerd:\n    ctr: ${defaultContainerd().ctr}\n  upgrade:\n    kairos_agent: ${defaultKairosAgent().binary}\n`,
    );
    writeFileSync(path.join(r, 'etc/containerd/config.toml'), `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n`);
    // The user's own file for a plain-HTTP registry: configure adds the mirror to it.
    writeFileSync(path.join(hostsDir, opts.registry, 'hosts.toml'), `server = "http://${opts.registry}"\n`);
    writeFileSync(path.join(r, 'etc/kairos-release'), kairosRelease(opts.installed));
    this.installedVersion = opts.installed;
    if (opts.bootstrapFrom) {
      const c = await this.agent(['configure']);
      if (c.code !== 0) throw new Error(`${this.name}: configure failed:\n${c.stdout}${c.stderr}`);
    }
    // Where the containerd distribution keeps its socket, under the node root.
    this.containerd = await startContainerd(this.host, path.join(r, 'run'), hostsDir);
    if (opts.bootstrapFrom) await this.startSpegel(opts.bootstrapFrom);
  }

  /** Spegel beside this node's containerd, bootstrapping from the node at `bootstrapFrom`; it advertises what containerd holds when it starts. */
  async startSpegel(bootstrapFrom: string): Promise<void> {
    this.spegel = await startSpegel(this.host, this.dir, this.containerd!, {
      host: this.host.ip,
      registryPort: MIRROR_PORT,
      routerPort: ROUTER_PORT,
      metricsPort: METRICS_PORT,
      bootstrap: { kind: 'http', addr: `${this.host.ip}:${BOOTSTRAP_PORT}`, peer: `http://${bootstrapFrom}:${BOOTSTRAP_PORT}` },
    });
  }

  async stopSpegel(): Promise<void> {
    await this.spegel?.stop();
  }

  /** Spegel's /readyz answers 200: it has peers in its routing table. */
  async ready(): Promise<boolean> {
    if (!this.spegel) return false;
    const [cmd, args] = this.host.exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${this.spegel.url}/readyz`]);
    return (await run(cmd, args, { timeoutMs: 5000 })).stdout === '200';
  }

  /** Blob transfers from a peer that broke and that this node's Spegel resumed from another one (its log says so at ERROR). */
  spegelResumes(): number {
    return this.spegel ? this.spegel.readLog().split('copying of blob data failed').length - 1 : 0;
  }

  /** What this node's Spegel counted; undefined when it does not run (baseline) or no longer answers (killed). */
  async spegelCounts(): Promise<SpegelCounts | undefined> {
    if (!this.spegel) return undefined;
    let text: string;
    try {
      text = await this.spegel.metrics();
    } catch {
      return undefined;
    }
    const served = { handler: '/v2/*', method: 'GET', code: '200' };
    return {
      hits: sumSamples(text, 'spegel_mirror_requests_total', { cache: 'hit' }),
      misses: sumSamples(text, 'spegel_mirror_requests_total', { cache: 'miss' }),
      served: sumSamples(text, 'http_response_size_bytes_count', served),
      servedBytes: sumSamples(text, 'http_response_size_bytes_sum', served),
    };
  }

  /**
   * Runs the agent in the node's namespace against its root (`upgrade`: on its root as `/`,
   * installed on a disk first); `--json` output parsed, everything logged to agent.log.
   */
  async agent(args: string[], timeoutMs = 900_000): Promise<AgentRun> {
    if (args.includes('upgrade') && !this.installed) {
      this.installed = await installKairosNode(this.dir, {
        release: kairosRelease(this.installedVersion),
        kairosAgent: defaultKairosAgent().binary,
        binds: [path.dirname(defaultContainerd().ctr)],
        stateMiB: STATE_MIB,
      });
    }
    const started = performance.now();
    const r = this.installed
      ? await this.installed.kairosSpegel(args, { via: (c, a) => this.host.exec(c, a), timeoutMs })
      : await runAgent(['--root', this.root, ...args], { node: this.host, timeoutMs });
    const ended = performance.now();
    appendFileSync(path.join(this.dir, 'agent.log'), `$ kairos-spegel ${args.join(' ')}\n${r.stdout}${r.stderr}exit ${r.code ?? r.signal}\n\n`);
    let json: Record<string, unknown> | undefined;
    try {
      json = args.includes('--json') && r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { ...r, started, ended, ...(json ? { json } : {}) };
  }

  /** The digest containerd (namespace k8s.io) records for `ref`, if it holds it. */
  async holds(ref: string): Promise<string | undefined> {
    if (!this.containerd) return undefined;
    const r = await this.containerd.ctr(['-n', 'k8s.io', 'images', 'ls']);
    for (const line of r.stdout.split('\n').slice(1)) {
      const [name, , digest] = line.trim().split(/\s+/);
      if (name === ref) return digest;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    await this.spegel?.stop();
    await this.containerd?.stop();
    await this.installed?.destroy();
  }

  /** Kairos version in the node disk's active.img (undefined: the node did not upgrade). */
  async activeVersion(): Promise<string | undefined> {
    return (await this.installed?.release('active.img'))?.match(/KAIROS_VERSION="([^"]*)"/)?.[1];
  }
}
