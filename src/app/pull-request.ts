/** What prepull and upgrade are asked to fetch; unset fields take the node's configuration. */
import type { AgentConfig } from '../config/agent-config.ts';
import type { UpstreamPolicy } from '../config/upstream-policy.ts';
import { hostPlatform, type Platform } from '../registry/manifest.ts';
import type { ImageRef } from '../registry/reference.ts';

export interface PullRequest {
  ref: ImageRef;
  /** Default: pull.platform, else the node's. */
  platform?: Platform;
  /** Default: pull.upstream. */
  policy?: UpstreamPolicy;
  /** Hash every blob the store already holds; a damaged one is fetched again. */
  verify: boolean;
  /** Import the image into the node's containerd (also needs pull.seed). */
  seed: boolean;
}

export interface ResolvedPull {
  ref: ImageRef;
  platform: Platform;
  policy: UpstreamPolicy;
  verify: boolean;
  seed: boolean;
}

export function resolvePull(req: PullRequest, agent: AgentConfig): ResolvedPull {
  return { ref: req.ref, platform: req.platform ?? agent.pull.platform ?? hostPlatform(), policy: req.policy ?? agent.pull.upstream, verify: req.verify, seed: req.seed && agent.pull.seed };
}
