/**
 * Process entry point of the kairos-spegel binary. A native build is a V8 startup
 * snapshot: the bundle is loaded and warmed up at build time (cli/startup-snapshot.ts),
 * so each run starts from a ready heap instead of evaluating and compiling the bundle.
 */
import { startupSnapshot } from 'node:v8';
import { run } from './cli/run.ts';
import { prepareSnapshot } from './cli/startup-snapshot.ts';

function start(): void {
  // What the agent creates (store, staging, configuration) must not depend on the umask it
  // inherits: under 000 its directories would be world-writable, and another user could swap
  // the rootfs that root hands to kairos-agent. Modes that must be wider (a rootfs' /tmp)
  // are set explicitly.
  process.umask(0o022);
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`kairos-spegel: internal error: ${(err as Error | undefined)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (startupSnapshot.isBuildingSnapshot()) {
  // A failure here must fail the build: no snapshot blob is written when the process exits.
  prepareSnapshot().then(
    () => {
      startupSnapshot.setDeserializeMainFunction(start);
    },
    (err: unknown) => {
      process.stderr.write(`kairos-spegel: cannot prepare the startup snapshot: ${(err as Error | undefined)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  start();
}
