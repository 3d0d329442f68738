/**
 * Process entry point of the kairos-spegel binary. A native build is a V8 startup
 * snapshot: the bundle is loaded and warmed up at build time (cli/startup-snapshot.ts),
 * so each run starts from a ready heap instead of evaluating and compiling the bundle.
 */
import { startupSnapshot } from 'node:v8';
import { run } from './cli/run.ts';
import { prepareSnapshot } from './cli/startup-snapshot.ts';

function start(): void {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`kairos-spegel: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (startupSnapshot.isBuildingSnapshot()) {
  prepareSnapshot().then(() => startupSnapshot.setDeserializeMainFunction(start));
} else {
  start();
}
