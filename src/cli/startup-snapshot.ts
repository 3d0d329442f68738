/**
 * Runs while the build takes the V8 startup snapshot (never at run time). It loads the
 * modules of the commands that run at every boot and passes small inputs through their
 * parsers, so the snapshot holds them initialized and compiled. Commands that talk to the
 * network (undici) are left out: they load when they run, and their sockets and timers
 * must not exist at snapshot time.
 */
import { findCommand } from './commands.ts';
import { parseYamlTree } from '../config/yaml-tree.ts';
import { mergeMaps } from '../config/kairos-merge.ts';
import { validateAgentBlock } from '../config/load.ts';
import { mergeHostsToml } from '../mirror/hosts-toml.ts';
import { mergeRegistriesYaml } from '../mirror/registries-yaml.ts';
import { inspectContainerdConfig } from '../mirror/containerd-config.ts';
import { renderK0sDropIn } from '../mirror/k0s-drop-in.ts';
import { unifiedDiff } from '../util/unified-diff.ts';
import { createLogger } from '../log/logger.ts';

const SAMPLE_CLOUD_CONFIG = `#cloud-config
k3s: {enabled: false}
kairos-spegel:
  wait_for_ip: 5s
  mirror: {ports: [30020], dial_timeout: 200ms, registries: [docker.io], resolve_tags: true}
`;

const SAMPLE_HOSTS_TOML = `server = "https://registry-1.docker.io"
[host."http://10.0.0.1:30020"]
  capabilities = ["pull", "resolve"]
  [host."http://10.0.0.1:30020".header]
    X-Test = ["a"]
`;

export async function prepareSnapshot(): Promise<void> {
  await findCommand('configure')!.load();
  // What runs after configure: the run's record and, where node_exporter's directory exists, the status the metrics render.
  await import('../app/metrics.ts');
  const a = parseYamlTree(SAMPLE_CLOUD_CONFIG, 'a.yaml');
  const b = parseYamlTree('#cloud-config\nkairos-spegel: {distro: containerd}\n', 'b.yaml');
  if (a.ok && b.ok && a.root?.kind === 'map' && b.root?.kind === 'map') validateAgentBlock(mergeMaps(a.root, b.root));
  const merged = mergeHostsToml(SAMPLE_HOSTS_TOML, [{ url: 'http://10.0.0.2:30020', capabilities: ['pull'], dialTimeoutMs: 200 }], 'hosts.toml');
  unifiedDiff(SAMPLE_HOSTS_TOML, merged.text, 'hosts.toml');
  mergeRegistriesYaml('mirrors:\n  docker.io: {}\n', ['*'], 'registries.yaml');
  inspectContainerdConfig(renderK0sDropIn('/etc/containerd/certs.d', 3), 'config.toml', '/etc/containerd/certs.d');
  createLogger({ level: 'silent', pretty: false }).info('warm-up');
}
