/** `kairos-spegel config`: the effective configuration as a table of key, value and the file:line that set it. */
import { showConfig, type ConfigReport } from '../../app/config.ts';
import { EXIT_OK } from '../../errors.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { CONFIG_OPTIONS } from '../commands.ts';
import { table } from '../output.ts';

function human(r: ConfigReport): string {
  const lines = [r.files.length > 0 ? `Files (a later one wins): ${r.files.join(', ')}` : 'No cloud-config files.'];
  for (const s of r.skipped) lines.push(`Skipped: ${s.file}: ${s.reason}`);
  if (!r.has_block) lines.push('No kairos-spegel: block in the cloud-config: every value below is a default.');
  const show = (v: unknown) => (v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
  const rows = r.values.map((v) => [v.key, show(v.value), v.source === null ? 'default' : `${v.source.file}${v.source.line === null ? '' : `:${v.source.line}`}`]);
  lines.push('', table(['KEY', 'VALUE', 'SOURCE'], rows));
  return lines.join('\n');
}

export const run: CommandRun<typeof CONFIG_OPTIONS> = async (ctx) => {
  const r = await showConfig(appEnv(ctx));
  ctx.out.result(r, () => human(r));
  return EXIT_OK;
};
