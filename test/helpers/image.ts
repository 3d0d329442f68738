/** Test images built without Docker (umoci) and pushed with skopeo. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestNode } from './netns.ts';
import { must } from './proc.ts';

/** An image of `layers` layers, each a directory with one file of `bytes` random bytes. */
export async function buildImage(dir: string, layers = 2, bytes = 200_000): Promise<string> {
  const layout = path.join(dir, 'layout');
  await must('umoci', ['init', '--layout', layout]);
  await must('umoci', ['new', '--image', `${layout}:latest`]);
  for (let i = 0; i < layers; i++) {
    const tree = path.join(dir, `layer${i}`);
    mkdirSync(path.join(tree, 'data'), { recursive: true });
    writeFileSync(path.join(tree, 'data', `file${i}.bin`), randomBytes(bytes));
    await must('umoci', ['insert', '--image', `${layout}:latest`, tree, '/']);
  }
  return `${layout}:latest`;
}

export async function pushImage(node: TestNode, ociRef: string, dest: string): Promise<void> {
  const [cmd, args] = node.exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${ociRef}`, `docker://${dest}`]);
  await must(cmd, args, { timeoutMs: 120_000 });
}
