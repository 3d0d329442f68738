/** `kairos-spegel validate [FILE...]`: every configuration problem at once; exit 2 when there is one. */
import { validateConfig } from '../../app/validate.ts';
import { EXIT_OK, EXIT_USAGE, formatLocation } from '../../errors.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { VALIDATE_OPTIONS } from '../commands.ts';

export const run: CommandRun<typeof VALIDATE_OPTIONS> = async (ctx) => {
  const r = await validateConfig(appEnv(ctx), { files: ctx.positionals });
  ctx.out.result(r, () => {
    const where = (p: (typeof r.problems)[number]) => formatLocation({ file: p.file, ...(p.line === null ? {} : { line: p.line }), ...(p.col === null ? {} : { col: p.col }) });
    const lines = r.problems.map((p) => `${where(p)}: ${p.key ? `${p.key}: ` : ''}${p.message}`);
    for (const f of r.without_block) lines.push(`${f}: no kairos-spegel: block; the agent would run on its defaults`);
    lines.push(r.valid ? `valid: ${r.files.length > 0 ? r.files.join(', ') : 'no cloud-config files'}` : `${r.problems.length} problem(s)`);
    return lines.join('\n');
  });
  return r.valid ? EXIT_OK : EXIT_USAGE;
};
