/**
 * The progress bar in a real pseudo-terminal of 80 columns (util-linux `script`): the
 * built binary prepulls from a real registry, one layer through the mirror (the peers) and
 * one from the upstream, each held after its first MiB so the bar stands still long enough
 * to be read. The rendered line must fit in 80 columns and keep the ETA and the
 * peers/upstream split.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spegelNotFound, type FaultRule } from '../../testbed/fault-proxy.ts';
import { startProxiedImage, type ProxiedImage } from '../../testbed/proxied-image.ts';
import { waitFor } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { agentBuilt } from '../../testbed/agent.ts';
import { tempDir } from '../../testbed/tmp.ts';

const MiB = 1024 * 1024;

/** The text a terminal would show for each \r- or \n-separated piece of the output, without escape sequences. */
function segments(out: string): string[] {
  return out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split(/\r\n|\r|\n/);
}

describe('progress on a terminal', () => {
  const dir = tempDir('ks-progress-tty-');
  let src: ProxiedImage;
  let layers: string[];

  beforeAll(async () => {
    src = await startProxiedImage(dir, 'kairos/progress:v1', 2, 4 * MiB);
    const res = await fetch(`${src.registry.url}/v2/kairos/progress/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
    });
    layers = ((await res.json()) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
    expect(layers).toHaveLength(2);
  }, 120_000);
  afterAll(() => src?.stop());

  /** The agent in a pseudo-terminal of 80 columns; `out` grows with what the terminal receives. */
  function inTerminal(bed: PullBed, args: string) {
    const cmd = `stty cols 80 rows 24; exec ${agentBuilt()} --root ${bed.root} prepull ${src.image} ${args}`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const term = { out: '', closed: undefined as unknown as Promise<unknown>, stop: async () => undefined as unknown };
    child.stdout.on('data', (d: Buffer) => (term.out += d.toString()));
    const closed = new Promise((resolve) => child.on('close', resolve));
    term.closed = closed;
    term.stop = () => {
      child.kill('SIGTERM'); // script hands it on to the agent, which ends as interrupted
      return closed;
    };
    return term;
  }

  it('at 80 columns the bar keeps ETA and the source split', async () => {
    const paused: Promise<void>[] = [];
    const held = (digest: string): FaultRule => {
      let onPause!: () => void;
      paused.push(new Promise<void>((resolve) => (onPause = resolve)));
      return (q) => (q.url.includes(digest) ? { kind: 'pause', afterBytes: MiB, onPause } : undefined);
    };
    const [peerLayer, upstreamLayer] = layers as [string, string];
    const fromPeers = held(peerLayer);
    src.mirror.setRule((q) => fromPeers(q) ?? (q.url.includes('/blobs/') ? spegelNotFound(q.url) : undefined));
    src.upstream.setRule(held(upstreamLayer));
    const bed = new PullBed(`${dir}/bed`);
    bed.hosts(src.registry.host, [src.mirror.url], src.upstream.url);

    const term = inTerminal(bed, '--upstream always');
    try {
      // Both sources have sent their MiB: the next line drawn shows both, with the rate measured (the window is 5 s).
      await Promise.all(paused);
      // Whole lines only: the first piece may end a line begun before, the last may still be arriving.
      const mark = term.out.length;
      const line = await waitFor(
        'a progress line drawn after both sources sent bytes',
        () =>
          segments(term.out.slice(mark))
            .slice(1, -1)
            .find((s) => /\d+% \S*MiB/.test(s)),
        60_000,
      );
      expect(line.length, line).toBeLessThan(80);
      expect(line).toMatch(/^\S+ \[=* *\] \d+% \S+\/\S+ \S+\/s ETA \d+[smh]\S* peers [1-9]\d*% upstream [1-9]\d*%$/);
      // Control: the terminal really was 80 columns wide, so the layout was asked to fit it.
      expect(term.out).not.toMatch(new RegExp(`${src.image} \\[`)); // the full label (about 35 columns) does not fit beside the rest
    } finally {
      await term.stop();
    }
  }, 120_000);

  /** A node whose mirror answers as a Spegel whose peers lack the image; the upstream serves it at once. */
  const bedWithoutPeers = (name: string): PullBed => {
    src.mirror.setRule((q) => spegelNotFound(q.url));
    src.upstream.setRule(undefined);
    const bed = new PullBed(`${dir}/${name}`);
    bed.hosts(src.registry.host, [src.mirror.url], src.upstream.url);
    return bed;
  };

  it('under --upstream "after 1m", while the peers lack the image: a countdown to the upstream', async () => {
    const term = inTerminal(bedWithoutPeers('bed-after'), `--upstream 'after 1m'`);
    try {
      const line = await waitFor('the countdown', () => segments(term.out).find((s) => /upstream in \d/.test(s)), 30_000);
      expect(line).toMatch(/^\S+ waiting for the peers, upstream in (\d+s|1m00s)$/);
      expect(line.length).toBeLessThan(80);
    } finally {
      await term.stop();
    }
  }, 120_000);

  it('a log line (the switch to the upstream) clears the progress line instead of running on after it', async () => {
    const term = inTerminal(bedWithoutPeers('bed-switch'), `--upstream 'after 2s'`);
    try {
      // The countdown is drawn every 200 ms until the switch is logged.
      await waitFor('the countdown', () => segments(term.out).some((s) => /upstream in \d/.test(s)), 30_000);
      const warning = await waitFor('the switch', () => segments(term.out).find((s) => s.includes('switching to the upstream registry')), 30_000);
      expect(warning).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d WARN  switching to the upstream registry ${src.registry.host}: `));
      await term.closed;
    } finally {
      await term.stop();
    }
  }, 120_000);
});
