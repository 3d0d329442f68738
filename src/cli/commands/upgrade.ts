/** `kairos-spegel upgrade IMAGE`: parse, upgrade, render (before a --reboot). */
import { upgradeNode } from '../../app/upgrade.ts';
import { EXIT_OK } from '../../errors.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { UPGRADE_OPTIONS } from '../commands.ts';
import { interruptible } from '../interrupt.ts';
import { pullRequest } from '../pull-options.ts';

export const run: CommandRun<typeof UPGRADE_OPTIONS> = async (ctx) => {
  const { options, out } = ctx;
  const req = { ...pullRequest(ctx.positionals, options), recovery: options.recovery === true, force: options.force === true, reboot: options.reboot === true };
  await interruptible((signal) =>
    upgradeNode(appEnv(ctx, signal), req, (r) =>
      out.result(r, () =>
        r.action === 'up-to-date'
          ? `up to date: ${r.image} is ${r.version}, as installed (--force applies it anyway)`
          : `applied ${r.image} (${r.version ?? 'unknown version'}) with kairos-agent${r.recovery ? ' to the recovery system' : ''}`,
      ),
    ),
  );
  return EXIT_OK;
};
