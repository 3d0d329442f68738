/**
 * When the upstream registry may be used (the WAN). `after <duration>`: only once the
 * mirror has not had the content for that long since the pull started, so that in a
 * rollout one node fetches from upstream and the others get it from that node.
 */
import { formatDuration, parseDuration } from '../util/duration.ts';

export type UpstreamPolicy = { mode: 'always' } | { mode: 'never' } | { mode: 'after'; afterMs: number };

export function parseUpstreamPolicy(text: string): UpstreamPolicy | undefined {
  const t = text.trim();
  if (t === 'always' || t === 'never') return { mode: t };
  const m = /^after\s+(\S+)$/.exec(t);
  const ms = m ? parseDuration(m[1]!) : undefined;
  return ms === undefined ? undefined : { mode: 'after', afterMs: ms };
}

export function formatUpstreamPolicy(p: UpstreamPolicy): string {
  return p.mode === 'after' ? `after ${formatDuration(p.afterMs)}` : p.mode;
}
