/**
 * `upgrade`: stage the image (from the store, or prepulled first), seed it, compare
 * versions as the Kairos operator does, then hand the staged rootfs to
 * `kairos-agent upgrade --source dir:`. The upgrade window holds no download.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentConfig } from '../config/agent-config.ts';
import type { AppEnv } from './env.ts';
import { bytesBySource, type Bytes } from './bytes.ts';
import { loadNodeContext } from './node-context.ts';
import { resolvePull, type PullRequest } from './pull-request.ts';
import { stageImage, type Staged } from './stage-image.ts';
import { AgentError, errorMessage } from '../errors.ts';
import { addonDir, nativeAddon } from '../native/addon.ts';
import { formatPlatform } from '../registry/manifest.ts';
import { Seeding } from '../seed/seed.ts';
import { acquireLock, type LockWait } from '../store/lock.ts';
import { readState, updateState } from '../store/node-state.ts';
import { OciStore } from '../store/oci-store.ts';
import { removeStaging } from '../unpack/staging.ts';
import { readKairosVersion } from '../upgrade/kairos-release.ts';
import { kairosAgentArgs, runKairosAgent } from '../upgrade/run-kairos-agent.ts';
import { formatDuration } from '../util/duration.ts';

export interface UpgradeRequest extends PullRequest {
  /** Upgrade the recovery system (kairos-agent upgrade --recovery). */
  recovery: boolean;
  /** Apply even when the versions are equal, or the image has no kairos-release. */
  force: boolean;
  /** Reboot after a successful upgrade, after upgrade.reboot_delay. */
  reboot: boolean;
}

export interface UpgradeResult {
  action: 'applied' | 'up-to-date';
  image: string;
  manifest: string;
  rootfs: string;
  /** The staged image's Kairos version, and the node's. */
  version: string | null;
  current: string | null;
  recovery: boolean;
  /** What this run downloaded; null when the image was in the store already. */
  downloaded: { bytes: Bytes; seconds: number } | null;
}

/** `applied` is told the result as soon as it is known: a reboot may follow, and end this process. */
export async function upgradeNode(env: AppEnv, req: UpgradeRequest, applied: (r: UpgradeResult) => void): Promise<UpgradeResult> {
  const { root, log } = env;
  const ctx = await loadNodeContext(env);
  const pull = resolvePull(req, ctx.agent);
  const stateFile = root.path(ctx.agent.upgrade.state_file);
  const upgradeLock = async (wait: LockWait) => {
    await mkdir(path.dirname(stateFile), { recursive: true });
    return acquireLock(path.dirname(stateFile), 'the upgrade', nativeAddon(addonDir(root, ctx.agent.store.path)), wait);
  };

  const store = await OciStore.open(root.path(ctx.agent.store.path));
  const seeding = pull.seed ? new Seeding({ root, layout: ctx.layout, store, log, platform: formatPlatform(pull.platform) }, stateFile) : undefined;
  const stageEnv = {
    root,
    agent: ctx.agent,
    layout: ctx.layout,
    log,
    progress: env.tty ? { tty: env.tty } : {},
    ...(env.signal ? { signal: env.signal } : {}),
    ...(seeding ? { onPending: seeding.onPending } : {}),
  };
  let stagedImage: Staged;
  try {
    stagedImage = await stageImage(stageEnv, pull);
  } catch (err) {
    seeding?.cancel();
    throw err;
  }
  const { staged, image, prepulled } = stagedImage;

  const state = await readState(stateFile);
  const topDigest = (image.index ?? image.manifest).digest;
  if (seeding && (prepulled || state.seeded[image.ref]?.digest !== topDigest)) {
    try {
      await seeding.finish(image);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'seeding failed; the upgrade goes on');
    }
  }

  const target = await readKairosVersion(staged.rootfs);
  const current = await readKairosVersion(root.path('/'));
  const result: Omit<UpgradeResult, 'action'> = {
    image: image.ref,
    manifest: image.manifest.digest,
    rootfs: staged.rootfs,
    version: target?.triple ?? null,
    current: current?.triple ?? null,
    recovery: req.recovery,
    downloaded: prepulled ? { bytes: bytesBySource(prepulled.transferred), seconds: prepulled.seconds } : null,
  };
  if (!target && !req.force) {
    throw new AgentError('E_NO_RELEASE', `the staged image ${image.ref} has no /etc/kairos-release (nor KAIROS_VERSION in /etc/os-release): it does not look like a Kairos image`, {
      hint: 'check the image name, or pass --force to apply it anyway',
    });
  }
  if (target && current && target.triple === current.triple && !req.force) {
    log.info({ version: target.triple }, 'up to date: nothing to do');
    // Under the upgrade lock: a running `upgrade --force` may be handing this staging to kairos-agent.
    // Only a clean-up: it never waits for a running upgrade.
    const lock = await upgradeLock({}).catch((err: unknown) => {
      if (!(err instanceof AgentError && err.code === 'E_LOCKED')) throw err;
      log.info({ reason: errorMessage(err) }, 'the staging stays: another upgrade is running');
      return undefined;
    });
    if (lock) {
      try {
        await removeStaging(path.dirname(staged.rootfs));
      } finally {
        await lock.release();
      }
    }
    const upToDate: UpgradeResult = { ...result, action: 'up-to-date' };
    applied(upToDate);
    return upToDate;
  }

  const lock = await upgradeLock({ waitMs: ctx.agent.store.lock_wait, log, ...(env.signal ? { signal: env.signal } : {}) });
  try {
    const record = (outcome: 'applied' | 'failed') =>
      updateState(stateFile, (s) =>
        s.applied.push({ ref: image.ref, manifest: image.manifest.digest, ...(target ? { version: target.triple } : {}), recovery: req.recovery, at: new Date().toISOString(), result: outcome }),
      );
    try {
      await runKairosAgent(ctx.agent.upgrade.kairos_agent, kairosAgentArgs(staged.rootfs, req.recovery), log, { ...(env.signal ? { signal: env.signal } : {}), lock });
    } catch (err) {
      await record('failed');
      throw err;
    }
    await record('applied');
    await removeStaging(path.dirname(staged.rootfs));
  } finally {
    await lock.release();
  }
  log.info({ image: image.ref, version: target?.triple, recovery: req.recovery }, 'upgrade applied');
  const done: UpgradeResult = { ...result, action: 'applied' };
  applied(done);
  if (req.reboot) await reboot(env, ctx.agent);
  return done;
}

/** Reboots into the new system after upgrade.reboot_delay; aborting the signal cancels it. */
async function reboot(env: AppEnv, agent: AgentConfig): Promise<void> {
  const delay = agent.upgrade.reboot_delay;
  env.log.warn({ in: formatDuration(delay), command: agent.upgrade.reboot_command }, `rebooting in ${formatDuration(delay)} to boot the new system; stop this process to cancel`);
  await sleep(delay, undefined, env.signal ? { signal: env.signal } : undefined);
  const [cmd, ...args] = agent.upgrade.reboot_command.split(/\s+/);
  spawn(cmd!, args, { stdio: 'inherit' }).on('error', (err) => env.log.error({ err: err.message }, 'reboot failed'));
}
