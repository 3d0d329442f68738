/** `kairos-spegel images [--verify]`: what the store holds. */
import { describeInProgress } from '../../app/in-progress.ts';
import { listStoredImages } from '../../app/images.ts';
import { EXIT_FAILURE, EXIT_OK } from '../../errors.ts';
import { formatBytes } from '../../util/units.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { IMAGES_OPTIONS } from '../commands.ts';
import { table } from '../output.ts';

export const run: CommandRun<typeof IMAGES_OPTIONS> = async (ctx) => {
  const verify = ctx.options.verify === true;
  const r = await listStoredImages(appEnv(ctx), { verify });
  const damaged = r.images.filter((i) => i.damaged !== null && i.damaged.length > 0);
  const pulling = r.in_progress ? ['', describeInProgress(r.in_progress)] : [];
  ctx.out.result(r, () =>
    r.images.length === 0
      ? [`No images in ${r.store}.`, ...pulling].join('\n')
      : [
          table(
            ['IMAGE', 'MANIFEST', 'SIZE', 'PULLED', 'FROM PEERS', 'FROM UPSTREAM', ...(verify ? ['VERIFIED'] : [])],
            r.images.map((i) => [
              i.image,
              i.manifest.slice(0, 19),
              formatBytes(i.size),
              (i.pulled_at ?? '-').slice(0, 19).replace('T', ' '),
              formatBytes(i.bytes.from_peers),
              formatBytes(i.bytes.from_upstream),
              ...(verify ? [i.damaged?.length ? `DAMAGED (${i.damaged.length} blob(s))` : 'ok'] : []),
            ]),
          ),
          ...(damaged.length ? ['', "damaged blobs are fetched again by 'kairos-spegel prepull --verify IMAGE'"] : []),
          ...pulling,
        ].join('\n'),
  );
  return damaged.length > 0 ? EXIT_FAILURE : EXIT_OK;
};
