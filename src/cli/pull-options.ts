/** IMAGE, --platform, --upstream, --verify and --no-seed, as prepull and upgrade take them. */
import type { PullRequest } from '../app/pull-request.ts';
import { parseUpstreamPolicy } from '../config/upstream-policy.ts';
import { UsageError } from '../errors.ts';
import { parsePlatform } from '../registry/manifest.ts';
import { parseImageRef } from '../registry/reference.ts';
import type { OptionValues } from './command.ts';
import type { PULL_OPTIONS } from './commands.ts';

export function pullRequest(positionals: string[], options: OptionValues<typeof PULL_OPTIONS>): PullRequest {
  if (positionals.length !== 1) throw new UsageError('expected exactly one IMAGE', 'e.g. quay.io/kairos/ubuntu:24.04-standard-amd64-generic-v3.6.0');
  const ref = parseImageRef(positionals[0]!);
  const req: PullRequest = { ref, verify: options.verify === true, seed: options['no-seed'] !== true };
  if (options.platform !== undefined) {
    const platform = parsePlatform(options.platform);
    if (platform === undefined) throw new UsageError(`--platform expects os/arch[/variant], e.g. linux/arm64, got "${options.platform}"`);
    req.platform = platform;
  }
  if (options.upstream !== undefined) {
    const policy = parseUpstreamPolicy(options.upstream);
    if (policy === undefined) throw new UsageError(`--upstream expects always, never or "after <duration>", got "${options.upstream}"`);
    req.policy = policy;
  }
  return req;
}
