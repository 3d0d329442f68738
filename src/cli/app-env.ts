/** The use cases' environment, from what the command line gave. */
import type { AppEnv } from '../app/env.ts';
import type { CommandContext } from './command.ts';

export function appEnv(ctx: Pick<CommandContext, 'global' | 'log'>, signal?: AbortSignal): AppEnv {
  return {
    root: ctx.global.root,
    ...(ctx.global.configFile === undefined ? {} : { configFile: ctx.global.configFile }),
    log: ctx.log,
    ...(process.stderr.isTTY ? { tty: process.stderr } : {}),
    ...(signal ? { signal } : {}),
  };
}
