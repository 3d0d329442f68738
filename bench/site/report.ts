/** The site's results as the BENCHMARKS.md section and as terminal text. */
import type { SiteReport } from './site.ts';

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

export function siteMarkdown(r: SiteReport, machine: string, command: string, chartPath: string): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push('## A five-node edge site (bench/site)');
  lines.push('');
  lines.push(`Machine: ${machine}. Command (as root, from a clean clone): \`${command}\`.`);
  lines.push('');
  lines.push(
    `${o.nodes} nodes, each a network namespace on a LAN bridge (tbf ${o.lanRate} both ways), with its own ${r.versions.containerd}, kairos-spegel, and Spegel ${r.versions.spegel} ` +
      `(\`spegel registry\` on the node IP's port 30020, libp2p bootstrapped over HTTP from another node, no Kubernetes). The upstream registry (docker-registry) sits behind a WAN link ` +
      `of ${r.wan.rate}${r.wan.delayMs > 0 ? ` and ${r.wan.delayMs} ms each way` : ''}${r.wan.note ? ` (${r.wan.note})` : ''}. ` +
      `Upgrade image: ${mb(r.image.size)} compressed, layers ${r.image.layers.map(mb).join(', ')} (zstd, incompressible payload). ` +
      "WAN bytes: the router's WAN interface counters, both directions; per node: an nftables counter of WAN bytes to the node and its bridge port's counters.",
  );
  lines.push('');
  lines.push('| scenario | WAN bytes | × image | per-node time (s) | total (s) | from peers / from upstream (agent) |');
  lines.push('|---|---|---|---|---|---|');
  for (const s of r.results) {
    const wan = s.wanDown + s.wanUp;
    const times = s.nodes.map((n) => `${n.node} ${n.seconds}`).join(', ');
    const split = `${mb(s.nodes.reduce((a, n) => a + n.fromPeers, 0))} / ${mb(s.nodes.reduce((a, n) => a + n.fromUpstream, 0))}`;
    lines.push(`| ${s.name}: ${s.title} | ${mb(wan)} | ${(wan / r.image.size).toFixed(3)} | ${times} | ${s.totalSeconds} | ${split} |`);
  }
  lines.push('');
  lines.push('Per-node time is the whole command: the download, the handoff to containerd, and for `upgrade` also unpacking and kairos-agent writing the new system to the disk of the node.');
  lines.push('');
  lines.push(
    "Spegel's own counts, from each node's `/metrics` at the end of the scenario (`spegel_mirror_requests_total` by cache hit or miss; registry GETs it answered with 200, and their bytes). " +
      "A blob that moves between two nodes is served twice: by the Spegel of the node that holds it, to the Spegel of the asking node, which relays it to that node's agent. " +
      'Misses are asks for content no peer had yet (at once: the waiting nodes asking again until node 1 has the blob).',
  );
  lines.push('');
  lines.push('| scenario | mirror hits / misses | GETs served | bytes served |');
  lines.push('|---|---|---|---|');
  for (const s of r.results.filter((x) => x.spegel.length > 0)) {
    const sum = (k: 'hits' | 'misses' | 'served' | 'servedBytes') => s.spegel.reduce((a, n) => a + n[k], 0);
    lines.push(`| ${s.name} | ${sum('hits')} / ${sum('misses')} | ${sum('served')} | ${mb(sum('servedBytes'))} |`);
  }
  lines.push('');
  for (const c of r.checks) lines.push(`- ${c.ok ? 'met' : '**NOT met**'}: ${c.what} (${c.detail})`);
  lines.push('');
  lines.push(`![bytes received over time, per node and source](${chartPath})`);
  return lines.join('\n');
}

export function siteSummary(r: SiteReport): string {
  return r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: ${c.detail}`).join('\n');
}
