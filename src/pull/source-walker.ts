/**
 * Tries the sources of one piece of content in containerd's order (mirrors, then the
 * upstream registry) under the WAN policy:
 * - a 404 means "not there yet": under `after`, the mirrors are asked again until the
 *   deadline, because a peer may get the content meanwhile;
 * - an error, a stall or wrong bytes drop that source for this content, except a broken
 *   connection after progress: that source is resumed at once (a mirror whose peer
 *   vanished mid-blob finds another peer for the rest), a bounded number of times;
 * - the upstream's 429/503 is retried after its Retry-After, and its broken connections
 *   are resumed after a backoff, each a bounded number of times.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../util/duration.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { RegistryError, type RegistryErrorCode } from '../registry/errors.ts';
import type { Source } from '../registry/source.ts';
import { formatUpstreamPolicy, type UpstreamPolicy } from '../config/upstream-policy.ts';

export interface WalkContext {
  sources: Source[];
  policy: UpstreamPolicy;
  /** When the pull started: `after <d>` opens the upstream at startedAt + d. */
  startedAt: number;
  log: Logger;
  signal?: AbortSignal;
  /** The whole of an exchange of bounded size (a manifest) must be done within this (pull.stall_after). */
  deadlineMs: number;
  /** How often the mirrors are asked again while waiting for them (ms). */
  pollMs?: number;
  /** Told before each upstream attempt under `after <d>`, with what the mirrors said: the pull is switching to the WAN. */
  onUpstream?(s: Source, what: string, why: string): void;
}

const MAX_RATE_LIMIT_RETRIES = 5;
const MAX_NETWORK_RETRIES = 3;
const MAX_PROGRESS_RESUMES = 5;
const MAX_RETRY_AFTER_MS = 60_000;

function upstreamOpensAt(ctx: WalkContext): number {
  return ctx.policy.mode === 'always' ? 0 : ctx.policy.mode === 'never' ? Infinity : ctx.startedAt + ctx.policy.afterMs;
}

/**
 * Runs `attempt` on sources until one succeeds. `dropped` (origin to why) is the caller's,
 * so content checks made outside an attempt (a digest mismatch) can exclude sources too.
 */
export async function walkSources<T>(ctx: WalkContext, what: string, attempt: (s: Source) => Promise<T>, dropped = new Map<string, RegistryError>()): Promise<T> {
  const rateLimited = new Map<string, number>();
  const networkRetries = new Map<string, number>();
  const resumes = new Map<string, number>();
  const pollMs = ctx.pollMs ?? 1000;
  let announcedWait = false;
  for (;;) {
    const notFound: string[] = [];
    let upstreamClosed = false;
    for (const s of ctx.sources) {
      if (dropped.has(s.origin)) continue;
      if (s.role === 'upstream' && Date.now() < upstreamOpensAt(ctx)) {
        upstreamClosed = true;
        continue;
      }
      if (s.role === 'upstream' && ctx.policy.mode === 'after' && ctx.onUpstream) {
        const mirrors = ctx.sources.filter((m) => m.role === 'mirror').map((m) => `${m.origin}: ${dropped.get(m.origin)?.message ?? 'not found'}`);
        ctx.onUpstream(s, what, mirrors.join('; ') || 'no mirror is configured');
      }
      for (;;) {
        try {
          return await attempt(s);
        } catch (err) {
          // Only registry answers and transfers are a source's fault; anything else (a full disk) ends the pull.
          if (ctx.signal?.aborted || !(err instanceof RegistryError)) throw err;
          if (err.code === 'E_NOT_FOUND') {
            notFound.push(s.origin);
            if (s.role === 'upstream') dropped.set(s.origin, err);
            break;
          }
          const tries = rateLimited.get(s.origin) ?? 0;
          if (err.code === 'E_RATE_LIMITED' && s.role === 'upstream' && tries < MAX_RATE_LIMIT_RETRIES) {
            rateLimited.set(s.origin, tries + 1);
            const waitMs = Math.min(err.retryAfterMs ?? 1000 * 2 ** tries, MAX_RETRY_AFTER_MS);
            ctx.log.warn({ source: s.origin, wait: formatDuration(waitMs), what }, 'upstream asked to slow down; waiting as its Retry-After says');
            await sleep(waitMs, undefined, { signal: ctx.signal });
            continue;
          }
          const resumed = resumes.get(s.origin) ?? 0;
          if (err.code === 'E_NETWORK' && (err.transferred ?? 0) > 0 && resumed < MAX_PROGRESS_RESUMES) {
            resumes.set(s.origin, resumed + 1);
            ctx.log.warn({ source: s.origin, what, reason: errorMessage(err), received: err.transferred }, `${s.role} connection broke after progress; resuming from it`);
            continue;
          }
          // The upstream is the last resort: a dropped connection is resumed a few times before giving up.
          const broken = networkRetries.get(s.origin) ?? 0;
          if ((err.code === 'E_NETWORK' || err.code === 'E_STALLED') && s.role === 'upstream' && broken < MAX_NETWORK_RETRIES) {
            networkRetries.set(s.origin, broken + 1);
            const waitMs = 1000 * 2 ** broken;
            ctx.log.warn({ source: s.origin, what, reason: errorMessage(err), retry_in: formatDuration(waitMs) }, 'upstream connection failed; resuming');
            await sleep(waitMs, undefined, { signal: ctx.signal });
            continue;
          }
          dropped.set(s.origin, err);
          ctx.log.warn({ source: s.origin, what, reason: errorMessage(err) }, `dropping ${s.role} ${s.origin} for this content`);
          break;
        }
      }
    }
    const upstreamUsable = ctx.sources.some((s) => s.role === 'upstream' && !dropped.has(s.origin));
    if (upstreamClosed && upstreamUsable && ctx.policy.mode === 'after') {
      const left = upstreamOpensAt(ctx) - Date.now();
      if (!announcedWait) {
        ctx.log.info({ what, upstream_in: formatDuration(Math.max(0, Math.round(left / 100) * 100)) }, 'not on the mirror yet; asking it again until the upstream may be used');
        announcedWait = true;
      }
      await sleep(Math.max(0, Math.min(pollMs, left)), undefined, { signal: ctx.signal });
      continue;
    }
    const reasons = [...dropped].map(([o, e]) => `${o}: ${e.message}`).concat(notFound.filter((o) => !dropped.has(o)).map((o) => `${o}: not found`));
    if (upstreamClosed) reasons.push(`upstream: not used (--upstream ${formatUpstreamPolicy(ctx.policy)})`);
    throw new RegistryError(
      walkFailureCode(reasons.length > 0, [...dropped.values()]),
      `no source could provide ${what}: ${reasons.join('; ') || 'no sources configured'}`,
      upstreamClosed ? 'allow the upstream registry (--upstream always or after <duration>), or wait until a peer has the image' : undefined,
      {
        registryErrors: [...dropped.values()].flatMap((e) => e.registryErrors),
      },
    );
  }
}

/**
 * The code of a walk no source could finish: what every source said when they agree (all
 * missing, all refusing the credentials, all rate limiting: a script can act on that), a
 * network failure otherwise. A source that was only missing does not outvote one that
 * refused: an upstream's DENIED stays DENIED though the mirror merely lacked the content.
 */
function walkFailureCode(asked: boolean, dropped: RegistryError[]): RegistryErrorCode {
  if (!asked) return 'E_NETWORK';
  const codes = new Set(dropped.map((e) => e.code));
  if (codes.size === 0) return 'E_NOT_FOUND';
  if (codes.size > 1) codes.delete('E_NOT_FOUND');
  return codes.size === 1 ? [...codes][0]! : 'E_NETWORK';
}
