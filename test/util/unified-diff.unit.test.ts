import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/util/unified-diff.ts';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'f')).toBe('');
  });
  it('shows a new file against /dev/null', () => {
    expect(unifiedDiff(undefined, 'x\ny\n', '/f')).toBe('--- /dev/null\n+++ /f\n@@ -0,0 +1,2 @@\n+x\n+y\n');
  });
  it('shows a change with context, removals before additions', () => {
    const before = 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n';
    const after = 'l1\nl2\nl3\nl4\nX\nl6\nl7\nl8\n';
    expect(unifiedDiff(before, after, 'f')).toBe('--- f\n+++ f\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+X\n l6\n l7\n l8\n');
  });
  it('splits distant changes into hunks', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const b = a.replace('l1\n', 'A\n').replace('l18', 'B');
    expect(unifiedDiff(a, b, 'f').match(/^@@/gm)).toHaveLength(2);
  });
});
