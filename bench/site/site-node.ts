/**
 * One node of the site for one scenario: a fresh Kairos-like root (cloud-config,
 * containerd config, the user's hosts.toml for the plain-HTTP upstream, kairos-release),
 * `kairos-spegel configure` run in the node's namespace, its own containerd reading the
 * hosts dir configure wrote, and the Spegel stand-in on the node IP's mirror port
 * serving that containerd's content store. A node without a mirror (the baseline) skips
 * configure and the stand-in: containerd and the agent talk to the upstream alone.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAgent } from '../../test/helpers/agent.ts';
import { startContainerd, type Containerd } from '../../test/helpers/containerd.ts';
import { defaultContainerd } from '../../test/helpers/peers.ts';
import { kairosRelease } from '../../test/helpers/kairos-image.ts';
import { tcpOpen } from '../../test/helpers/netns.ts';
import { startDaemon, waitFor, type Daemon, type RunResult } from '../../test/helpers/proc.ts';
import type { SiteHost } from './topology.ts';

export const MIRROR_PORT = 30020;
const STANDIN = path.resolve(import.meta.dirname, 'spegel-standin.ts');
const KAIROS_AGENT = path.resolve(import.meta.dirname, '../../test/fixtures/kairos-agent-standin');

export interface NodeOptions {
  /** host:port of the upstream registry (plain HTTP). */
  registry: string;
  /** The Kairos version installed on the node. */
  installed: string;
  /** Peers' mirror addresses in the order the stand-in asks them; undefined: no mirror. */
  peers?: string[];
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
  private standin?: Daemon;

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
    writeFileSync(path.join(r, 'oem/90_kairos-spegel.yaml'), `#cloud-config\nkairos-spegel:\n  distro: containerd\n  mirror:\n    ports: [${MIRROR_PORT}]\n  containerd:\n    ctr: ${defaultContainerd().ctr}\n  upgrade:\n    kairos_agent: ${KAIROS_AGENT}\n`);
    writeFileSync(path.join(r, 'etc/containerd/config.toml'), `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n`);
    // The user's own file for a plain-HTTP registry: configure adds the mirror to it.
    writeFileSync(path.join(hostsDir, opts.registry, 'hosts.toml'), `server = "http://${opts.registry}"\n`);
    writeFileSync(path.join(r, 'etc/kairos-release'), kairosRelease(opts.installed));
    if (opts.peers) {
      const c = await this.agent(['configure']);
      if (c.code !== 0) throw new Error(`${this.name}: configure failed:\n${c.stdout}${c.stderr}`);
    }
    // Where the containerd distribution keeps its socket, under the node root.
    this.containerd = await startContainerd(this.host, path.join(r, 'run'), hostsDir);
    if (!opts.peers) return;
    const content = path.join(r, 'run/containerd/root/io.containerd.content.v1.content');
    const [cmd, args] = this.host.exec(process.execPath, [STANDIN, '--listen', this.mirror, '--containerd', this.containerd.socket, '--content', content, '--peers', opts.peers.join(',')]);
    this.standin = startDaemon(cmd, args, path.join(this.dir, 'spegel-standin.log'));
    await waitFor(`the Spegel stand-in on ${this.mirror}`, () => tcpOpen(this.host, this.host.ip, MIRROR_PORT));
  }

  /** Runs the agent in the node's namespace against its root; `--json` output parsed, everything logged to agent.log. */
  async agent(args: string[], timeoutMs = 900_000): Promise<AgentRun> {
    const started = performance.now();
    const r = await runAgent(['--root', this.root, ...args], { node: this.host, timeoutMs, env: { ...process.env, KAIROS_AGENT_STANDIN_LOG: path.join(this.dir, 'kairos-agent.args') } });
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

  /** The stand-in's request log: one JSON object per request. */
  servedLog(): { url: string; mirrored: boolean; status: number; source: string; bytes: number; from: string }[] {
    if (!this.standin) return [];
    return this.standin
      .readLog()
      .split('\n')
      .filter((l) => l.startsWith('{"t"'))
      .map((l) => JSON.parse(l) as { url: string; mirrored: boolean; status: number; source: string; bytes: number; from: string });
  }

  async stop(): Promise<void> {
    await this.standin?.stop();
    await this.containerd?.stop();
  }
}
