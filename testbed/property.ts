/**
 * Options for the property tests' fc.assert: a number of cases that keeps the unit loop
 * fast, or more with KS_PROPERTY_RUNS for a deeper search:
 *
 *   KS_PROPERTY_RUNS=20000 npx vitest run --project unit --testTimeout=0
 *
 * In the unit loop a property stops after a few seconds: a failure found by then is reported
 * with its counterexample shrunk as far as it got (shrinking a large input, 1500 bytes of an
 * archive say, can otherwise take minutes); a deeper search has no time limit.
 */
import fc from 'fast-check';

export function propertyOptions(fast: number): { numRuns: number; plugins: fc.UniversalPlugin[] } {
  const deep = Number(process.env['KS_PROPERTY_RUNS']);
  if (Number.isInteger(deep) && deep > 0) return { numRuns: deep, plugins: [] };
  return { numRuns: fast, plugins: [fc.interruptAfterTimeLimit(5000)] };
}
