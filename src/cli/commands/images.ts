/** `kairos-spegel images`: what the store holds. */
import { formatBytes } from '../../util/units.ts';
import { EXIT_FAILURE, EXIT_OK } from '../../errors.ts';
import { loadNodeContext } from '../../app/node-context.ts';
import { readStoredImages } from '../../store/images.ts';
import type { CommandRun } from '../command.ts';
import { table } from '../output.ts';

export const run: CommandRun = async ({ global, options, log, out }) => {
  const ctx = await loadNodeContext(global, log);
  const { store, stats, images } = await readStoredImages(global.root.path(ctx.agent.store.path));
  const verify = options['verify'] === true;
  // --verify: every blob hashed, as prepull --verify would, but nothing changed.
  const damaged = new Map<string, string[]>();
  if (verify && store) {
    for (const i of images) {
      const bad: string[] = [];
      for (const b of [i.manifest, ...(i.index ? [i.index] : []), ...i.blobs]) if (!(await store.verifyBlob(b.digest))) bad.push(b.digest);
      if (bad.length) damaged.set(i.ref, bad);
    }
  }
  const listed = verify ? images.map((i) => ({ ...i, damaged: damaged.get(i.ref) ?? [] })) : images;
  out.result({ store: ctx.agent.store.path, images: listed, total: stats.total }, () =>
    images.length === 0
      ? `No images in ${ctx.agent.store.path}.`
      : [
          table(
            ['IMAGE', 'MANIFEST', 'SIZE', 'PULLED', 'FROM PEERS', 'FROM UPSTREAM', ...(verify ? ['VERIFIED'] : [])],
            images.map((i) => [
              i.ref,
              i.manifest.digest.slice(0, 19),
              formatBytes(i.size),
              i.pulledAt.slice(0, 19).replace('T', ' '),
              formatBytes(i.bytes.mirror),
              formatBytes(i.bytes.upstream),
              ...(verify ? [damaged.has(i.ref) ? `DAMAGED (${damaged.get(i.ref)!.length} blob(s))` : 'ok'] : []),
            ]),
          ),
          ...(damaged.size ? ['', "damaged blobs are fetched again by 'kairos-spegel prepull --verify IMAGE'"] : []),
        ].join('\n'),
  );
  return damaged.size > 0 ? EXIT_FAILURE : EXIT_OK;
};
