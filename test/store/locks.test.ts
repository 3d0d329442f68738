/**
 * The store lock under contention and with leftovers, through the real binary: 8 prepulls
 * started at once on one store, over a lock file in every state an earlier run, a crash or a
 * reboot can leave (none, empty as between its creation and the first write, a dead pid, a
 * pid that now belongs to another process, "pid 1" from a pid namespace): exactly one runs,
 * the other seven are refused with E_LOCKED. With `store.lock_wait`, a second run waits for
 * the holder instead, and goes on once it is gone. And a prepull that fails on its
 * configuration (a missing password file, a damaged docker config.json) leaves nothing that
 * blocks the next.
 */
import { EXIT_LOCKED } from '../../src/errors.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT } from '../../testbed/agent.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { mirroredRegistry } from '../../testbed/mirrored-registry.ts';
import { waitFor } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

const RACERS = 8;

/** A pid no process has: one that just exited. */
async function deadPid(): Promise<number> {
  const p = spawn('true');
  await new Promise((r) => p.on('exit', r));
  return p.pid!;
}

describe('the store lock', () => {
  const dir = tempDir('ks-locks-');
  const site = mirroredRegistry(dir);
  const bed = () => site.bed();
  let image: string;

  beforeAll(async () => {
    image = `${site.registry.host}/kairos/locks:v1`;
    await pushImage(undefined, await buildImage(`${dir}/img`, 2, 300_000), image);
  });

  const LEFTOVERS: [string, () => Promise<string | undefined>][] = [
    ['no lock file', async () => undefined],
    ['an empty lock file', async () => ''],
    ['a dead pid', async () => `${await deadPid()}\n`],
    ['a pid that is now another process (after a reboot)', async () => `${process.pid}\n`],
    ['"pid 1" (a holder killed in a pid namespace)', async () => '1\n'],
  ];

  // Two trials per leftover: 10 races of 8.
  it.each([...LEFTOVERS, ...LEFTOVERS])(
    '%s, 8 prepulls at once: one runs, seven get E_LOCKED',
    async (_what, leftover) => {
      const b = bed();
      const content = await leftover();
      if (content !== undefined) {
        mkdirSync(b.store, { recursive: true });
        writeFileSync(path.join(b.store, 'lock'), content);
      }
      let pulling = 0;
      site.mirror.setRule((q) => (q.url.includes('/blobs/') ? { kind: 'pause', afterBytes: 1000, onPause: () => pulling++ } : undefined));
      const runs: { child: ChildProcess; out: string; code?: number | null }[] = [];
      try {
        for (let i = 0; i < RACERS; i++) {
          const child = spawn(AGENT, ['--root', b.root, '--json', '--log-level', 'silent', 'prepull', image], { stdio: ['ignore', 'pipe', 'ignore'] });
          const r: (typeof runs)[number] = { child, out: '' };
          child.stdout.on('data', (d: Buffer) => (r.out += d.toString()));
          child.on('exit', (code) => (r.code = code));
          runs.push(r);
        }
        const ended = () => runs.filter((r) => r.code !== undefined);
        // Seven end; the eighth holds a paused download. Two holders would leave six ended: this times out.
        await waitFor('seven runs to end and one to be downloading', () => (ended().length === RACERS - 1 && pulling > 0) || ended().length === RACERS || undefined, 120_000);
        expect(ended()).toHaveLength(RACERS - 1);
        for (const r of ended()) {
          expect(r.code, r.out).toBe(EXIT_LOCKED);
          expect(JSON.parse(r.out).error).toMatchObject({ code: 'E_LOCKED', message: expect.stringMatching(/is in use: kairos-spegel pid \d+ since /) });
        }
      } finally {
        site.mirror.setRule(undefined);
        for (const r of runs) r.child.kill('SIGKILL');
        await Promise.all(runs.map((r) => (r.code !== undefined || r.child.exitCode !== null ? Promise.resolve() : new Promise((res) => r.child.on('exit', res)))));
      }
      const next = await b.prepull([image]);
      expect(next.code, next.stdout + next.stderr).toBe(0);
    },
    180_000,
  );

  it('with store.lock_wait, a second prepull waits for the holder (and says so), and completes once the holder is gone', async () => {
    const b = bed();
    b.config('  store:\n    lock_wait: 5m\n');
    let paused!: () => void;
    const isPaused = new Promise<void>((r) => (paused = r));
    site.mirror.setRule((q) => (q.url.includes('/blobs/') ? { kind: 'pause', afterBytes: 1000, onPause: paused } : undefined));
    const first = spawn(AGENT, ['--root', b.root, '--log-level', 'silent', 'prepull', image], { stdio: 'ignore' });
    const firstExit = new Promise((r) => first.on('exit', r));
    await isPaused;
    site.mirror.setRule(undefined);
    const second = spawn(AGENT, ['--root', b.root, '--json', 'prepull', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    second.stdout.on('data', (d: Buffer) => (out += d.toString()));
    second.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const secondExit = new Promise<number | null>((r) => second.on('exit', r));
    try {
      await waitFor(
        'the second prepull to say it waits',
        () => {
          if (second.exitCode !== null) throw new Error(`the second prepull ended instead of waiting: ${out}${err}`);
          return /waiting for the image store .*: another run holds it/.test(err) || undefined;
        },
        60_000,
      );
    } finally {
      first.kill('SIGKILL');
    }
    await firstExit;
    expect(await secondExit, out + err).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ digest: expect.stringMatching(/^sha256:/) });
    b.verifyBlobs();
  });

  it.each([
    [
      'a password file that does not exist',
      (b: PullBed) => b.config(`  credentials:\n    - registry: ${site.registry.host}\n      username: bot\n      password_file: /etc/kairos-spegel/missing.token\n`),
      /missing\.token/,
    ],
    [
      'a damaged docker config.json',
      (b: PullBed) => {
        mkdirSync(path.join(b.root, 'root/.docker'), { recursive: true });
        writeFileSync(path.join(b.root, 'root/.docker/config.json'), '{"auths": {');
      },
      /config\.json/,
    ],
  ])('a prepull that fails on %s leaves nothing that blocks the next one', async (_what, breakIt, named) => {
    const b = bed();
    breakIt(b);
    const failed = await b.prepull([image]);
    expect(failed.code, failed.stdout + failed.stderr).toBe(2);
    expect(failed.error).toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(named) });
    // Mended, the next run goes through at once.
    b.config('');
    mkdirSync(path.join(b.root, 'root/.docker'), { recursive: true });
    writeFileSync(path.join(b.root, 'root/.docker/config.json'), '{}');
    const next = await b.prepull([image]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
  });
});
