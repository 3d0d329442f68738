/**
 * The real programs scripts/setup.sh builds from their Go modules (pinned in
 * scripts/peers.json), the containerd matrix the tests run on: Debian's 1.6 beside
 * the built 1.7, 2.2 (the default) and newest 2.x, and the kairos-agent pair. Every test names
 * the version it ran.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface PeerPin {
  name: string;
  module: string;
  version: string;
  role?: 'default';
}

const PINS = (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../scripts/peers.json'), 'utf8')) as { peers: PeerPin[] }).peers;

/** Where setup.sh builds them (the same default and override). */
export const PEERS_DIR = process.env['KAIROS_SPEGEL_PEERS'] ?? '/var/cache/kairos-spegel/peers';

function pin(name: string, version?: string): PeerPin {
  const candidates = PINS.filter((p) => p.name === name && (version === undefined || p.version === version));
  const found = candidates.find((p) => p.role === 'default') ?? candidates[0];
  if (!found) throw new Error(`scripts/peers.json pins no ${name}${version ? ` ${version}` : ''}`);
  return found;
}

/** Path of a built peer's binary; fails loudly when setup.sh has not built it. */
export function peerBinary(name: string, binary = name, version?: string): string {
  const p = pin(name, version);
  const file = path.join(PEERS_DIR, `${p.name}@${p.version}`, binary);
  if (!existsSync(file)) throw new Error(`${file} is missing: run 'bash scripts/setup.sh' (it builds ${p.module}@${p.version})`);
  return file;
}

export function peerVersion(name: string): string {
  return pin(name).version;
}

export interface ContainerdBuild {
  /** "containerd v2.2.9", "containerd 1.6.20 (Debian)": what a test is named after. */
  label: string;
  /** major.minor, for version-dependent expectations. */
  version: { major: number; minor: number };
  containerd: string;
  ctr: string;
}

function built(version: string): ContainerdBuild {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number) as [number, number];
  return { label: `containerd ${version}`, version: { major, minor }, containerd: peerBinary('containerd', 'containerd', version), ctr: peerBinary('containerd', 'ctr', version) };
}

function debian(): ContainerdBuild {
  // "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1"
  const out = execFileSync('/usr/bin/containerd', ['--version'], { encoding: 'utf8' });
  const v = /\s(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!v) throw new Error(`cannot read the version of Debian's containerd from: ${out}`);
  return { label: `containerd ${v[1]}.${v[2]}.${v[3]} (Debian)`, version: { major: Number(v[1]), minor: Number(v[2]) }, containerd: '/usr/bin/containerd', ctr: '/usr/bin/ctr' };
}

/** containerd 2.2, latest patch: what every test runs on unless it runs the matrix. */
export function defaultContainerd(): ContainerdBuild {
  return built(pin('containerd').version);
}

/** Oldest first: Debian's 1.6, then the built ones by version. */
export function containerdMatrix(): ContainerdBuild[] {
  const versions = PINS.filter((p) => p.name === 'containerd').map((p) => p.version);
  const sorted = versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return [debian(), ...sorted.map(built)];
}

export interface KairosAgentBuild {
  /** "kairos-agent v2.31.4": what a test is named after. */
  label: string;
  version: string;
  binary: string;
}

/** The pinned kairos-agent builds, oldest first: the 2.24 line and the newest. */
export function kairosAgents(): KairosAgentBuild[] {
  const versions = PINS.filter((p) => p.name === 'kairos-agent').map((p) => p.version);
  return versions
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((version) => ({ label: `kairos-agent ${version}`, version, binary: peerBinary('kairos-agent', 'kairos-agent', version) }));
}

/** The newest pinned kairos-agent: what a test runs unless it runs both. */
export function defaultKairosAgent(): KairosAgentBuild {
  const { version } = pin('kairos-agent');
  return kairosAgents().find((k) => k.version === version)!;
}
