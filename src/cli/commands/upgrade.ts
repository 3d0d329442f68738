/**
 * `kairos-spegel upgrade IMAGE`: stage the image (from the store, or prepulled first),
 * seed it, compare versions as the Kairos operator does, then hand the staged rootfs to
 * `kairos-agent upgrade --source dir:`. The upgrade window holds no download.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { formatDuration } from '../../util/duration.ts';
import { AgentError, EXIT_OK, errorMessage } from '../../errors.ts';
import { loadNodeContext } from '../../app/node-context.ts';
import { addonDir, nativeAddon } from '../../native/addon.ts';
import { acquireLock, type LockWait } from '../../store/lock.ts';
import { removeStaging } from '../../unpack/staging.ts';
import { readKairosVersion } from '../../upgrade/kairos-release.ts';
import { kairosAgentArgs, runKairosAgent } from '../../upgrade/run-kairos-agent.ts';
import { formatPlatform } from '../../registry/manifest.ts';
import { OciStore } from '../../store/oci-store.ts';
import { Seeding } from '../../seed/seed.ts';
import { stageImage, type Staged } from '../../app/stage-image.ts';
import { readState, updateState } from '../../store/node-state.ts';
import type { CommandRun } from '../command.ts';
import { interruptible } from '../interrupt.ts';
import { pullRequest } from './prepull.ts';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';

export const run: CommandRun = async ({ global, options, positionals, log, out }) => {
  const ctx = await loadNodeContext(global, log);
  const req = pullRequest(positionals, options, ctx.agent);
  const force = options['force'] === true;
  const recovery = options['recovery'] === true;
  const root = global.root;
  const stateFile = root.path(ctx.agent.upgrade.state_file);
  const tty = process.stderr.isTTY ? process.stderr : undefined;
  const upgradeLock = async (wait: LockWait) => {
    await mkdir(path.dirname(stateFile), { recursive: true });
    return acquireLock(path.dirname(stateFile), 'the upgrade', nativeAddon(addonDir(root, ctx.agent.store.path)), wait);
  };

  const store = await OciStore.open(root.path(ctx.agent.store.path));
  const seeding =
    ctx.agent.pull.seed && options['no-seed'] !== true ? new Seeding({ root, layout: ctx.layout, store, log, platform: formatPlatform(req.platform) }, stateFile) : undefined;

  return interruptible(async (signal) => {
    const env = { root, agent: ctx.agent, layout: ctx.layout, log, progress: tty ? { tty } : {}, signal, ...(seeding ? { onPending: seeding.onPending } : {}) };
    let stagedImage: Staged;
    try {
      stagedImage = await stageImage(env, req);
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
    const summary = { image: image.ref, manifest: image.manifest.digest, rootfs: staged.rootfs, version: target?.triple, current: current?.triple, downloaded: prepulled ? { ...prepulled.transferred, seconds: prepulled.seconds } : undefined };
    if (!target && !force) {
      throw new AgentError('E_NO_RELEASE', `the staged image ${image.ref} has no /etc/kairos-release (nor KAIROS_VERSION in /etc/os-release): it does not look like a Kairos image`, { hint: 'check the image name, or pass --force to apply it anyway' });
    }
    if (target && current && target.triple === current.triple && !force) {
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
      out.result({ ...summary, action: 'up-to-date' }, () => `up to date: ${image.ref} is ${target.triple}, as installed (--force applies it anyway)`);
      return EXIT_OK;
    }

    const lock = await upgradeLock({ waitMs: ctx.agent.store.lock_wait, signal, log });
    try {
      const args = kairosAgentArgs(staged.rootfs, recovery);
      try {
        await runKairosAgent(ctx.agent.upgrade.kairos_agent, args, log, { signal, lock });
      } catch (err) {
        await updateState(stateFile, (s) => s.applied.push({ ref: image.ref, manifest: image.manifest.digest, ...(target ? { version: target.triple } : {}), recovery, at: new Date().toISOString(), result: 'failed' }));
        throw err;
      }
      await updateState(stateFile, (s) => s.applied.push({ ref: image.ref, manifest: image.manifest.digest, ...(target ? { version: target.triple } : {}), recovery, at: new Date().toISOString(), result: 'applied' }));
      await removeStaging(path.dirname(staged.rootfs));
    } finally {
      await lock.release();
    }
    log.info({ image: image.ref, version: target?.triple, recovery }, 'upgrade applied');
    out.result({ ...summary, action: 'applied', recovery }, () => `applied ${image.ref} (${target?.triple ?? 'unknown version'}) with kairos-agent${recovery ? ' to the recovery system' : ''}`);

    if (options['reboot'] === true) {
      const delay = ctx.agent.upgrade.reboot_delay;
      log.warn({ in: formatDuration(delay), command: ctx.agent.upgrade.reboot_command }, `rebooting in ${formatDuration(delay)} to boot the new system; stop this process to cancel`);
      await sleep(delay, undefined, { signal });
      const [cmd, ...args] = ctx.agent.upgrade.reboot_command.split(/\s+/);
      spawn(cmd!, args, { stdio: 'inherit' }).on('error', (err) => log.error({ err: err.message }, 'reboot failed'));
    }
    return EXIT_OK;
  });
};
