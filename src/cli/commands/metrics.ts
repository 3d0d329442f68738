/** `kairos-spegel metrics`: the Prometheus text that the textfile collector's file holds. */
import { metricsText } from '../../app/metrics.ts';
import { EXIT_OK, UsageError } from '../../errors.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { METRICS_OPTIONS } from '../commands.ts';

export const run: CommandRun<typeof METRICS_OPTIONS> = async (ctx) => {
  // The text format is the result: a JSON rendering of it would be a second, redundant contract.
  if (ctx.out.json) throw new UsageError('metrics prints the Prometheus text format, not JSON', "'kairos-spegel status --json' has the same facts");
  const text = await metricsText(appEnv(ctx));
  ctx.out.result({}, () => text);
  return EXIT_OK;
};
