/** `kairos-spegel images`: what the store holds. */
import { formatBytes } from '../../config/units.ts';
import { EXIT_OK } from '../../errors.ts';
import { loadNodeContext } from '../../node/context.ts';
import { listImages } from '../../store/images.ts';
import { OciStore } from '../../store/oci-store.ts';
import { TransferStats } from '../../store/transfer-stats.ts';
import type { CommandRun } from '../command.ts';
import { table } from '../output.ts';

export const run: CommandRun = async ({ global, log, out }) => {
  const ctx = await loadNodeContext(global, log);
  // Reading only: a node that never pulled has no store, and these commands do not make one.
  const storeDir = global.root.path(ctx.agent.store.path);
  const store = await OciStore.existing(storeDir);
  const stats = await TransferStats.load(storeDir);
  const images = store ? await listImages(store, stats) : [];
  out.result({ store: ctx.agent.store.path, images, total: stats.total }, () =>
    images.length === 0
      ? `No images in ${ctx.agent.store.path}.`
      : table(
          ['IMAGE', 'MANIFEST', 'SIZE', 'PULLED', 'FROM PEERS', 'FROM UPSTREAM'],
          images.map((i) => [i.ref, i.manifest.digest.slice(0, 19), formatBytes(i.size), i.pulledAt.slice(0, 19).replace('T', ' '), formatBytes(i.bytes.mirror), formatBytes(i.bytes.upstream)]),
        ),
  );
  return EXIT_OK;
};
