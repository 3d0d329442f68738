/**
 * Registry credentials, looked up by registry host, from (first match wins):
 * the agent's config (`credentials:` with a password file), k3s' registries.yaml
 * `configs`, and Docker's config.json ($DOCKER_CONFIG, else /root/.docker). Secrets are
 * only ever placed in Authorization headers; nothing here logs them.
 */
import path from 'node:path';
import type { AgentConfig } from '../config/agent-config.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { readTextFile } from '../fs/read-text.ts';
import type { Root } from '../fs/root.ts';
import type { Credential } from '../registry/auth/authorizer.ts';
import { K3S_REGISTRIES_YAML } from '../mirror/layout.ts';
import { readRegistriesYaml } from '../mirror/registries-yaml.ts';

/** Registry keys as people write them: "https://index.docker.io/v1/", "ghcr.io", "reg:5000". */
export function normalizeRegistryKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.split('/')[0]!;
  if (k === 'index.docker.io' || k === 'registry-1.docker.io') return 'docker.io';
  return k;
}

function decodeAuth(b64: string): { username: string; password: string } | undefined {
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i > 0 ? { username: text.slice(0, i), password: text.slice(i + 1) } : undefined;
}

type Entry = { username?: unknown; password?: unknown; auth?: unknown };

function fromEntry(e: Entry, source: string): Credential | undefined {
  if (typeof e.username === 'string' && typeof e.password === 'string' && e.username !== '') return { username: e.username, password: e.password, source };
  if (typeof e.auth === 'string' && e.auth !== '') {
    const d = decodeAuth(e.auth);
    if (d) return { ...d, source };
  }
  return undefined;
}

export class CredentialStore {
  private readonly byRegistry = new Map<string, Credential>();

  private add(registry: string, c: Credential): void {
    const key = normalizeRegistryKey(registry);
    if (!this.byRegistry.has(key)) this.byRegistry.set(key, c);
  }

  lookup(registry: string): Credential | undefined {
    return this.byRegistry.get(normalizeRegistryKey(registry));
  }

  static async load(root: Root, agent: AgentConfig, env: NodeJS.ProcessEnv = process.env): Promise<CredentialStore> {
    const store = new CredentialStore();
    for (const c of agent.credentials) {
      const file = root.path(c.password_file);
      const key = `kairos-spegel.credentials (${c.registry})`;
      let text: string | undefined;
      try {
        text = await readTextFile(file, c.password_file);
      } catch (err) {
        const why = err instanceof ConfigError ? err.problems.map((p) => p.message).join('; ') : errorMessage(err);
        throw new ConfigError([{ at: { file: c.password_file }, key, message: `cannot read the password file: ${why}` }]);
      }
      if (text === undefined) throw new ConfigError([{ at: { file: c.password_file }, key, message: 'cannot read the password file: it does not exist' }]);
      const password = text.replace(/\r?\n$/, '');
      store.add(c.registry, { username: c.username ?? '', password, source: `kairos-spegel.credentials (${c.password_file})` });
    }
    const k3s = await readTextFile(root.path(K3S_REGISTRIES_YAML), K3S_REGISTRIES_YAML);
    if (k3s !== undefined) {
      const { configs } = readRegistriesYaml(k3s, K3S_REGISTRIES_YAML) as { configs: Record<string, { auth?: Entry } | null> };
      for (const [reg, cfg] of Object.entries(configs)) {
        const c = cfg?.auth ? fromEntry(cfg.auth, K3S_REGISTRIES_YAML) : undefined;
        if (c) store.add(reg, c);
      }
    }
    const dockerDir = env['DOCKER_CONFIG'] ?? '/root/.docker';
    const dockerFile = path.posix.join(dockerDir, 'config.json');
    const docker = await readTextFile(root.path(dockerFile), dockerFile);
    if (docker !== undefined) {
      let auths: Record<string, Entry> = {};
      try {
        auths = (JSON.parse(docker) as { auths?: Record<string, Entry> }).auths ?? {};
      } catch {
        throw new ConfigError([{ at: { file: dockerFile }, key: 'auths', message: 'not valid JSON' }]);
      }
      for (const [reg, e] of Object.entries(auths)) {
        const c = fromEntry(e, dockerFile);
        if (c) store.add(reg, c);
      }
    }
    return store;
  }
}
