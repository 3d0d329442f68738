/**
 * How many cases each property test tries: a number that keeps the unit loop fast, or more
 * with KS_PROPERTY_RUNS for a deeper search:
 *
 *   KS_PROPERTY_RUNS=20000 npx vitest run --project unit --testTimeout=0
 */
export function propertyRuns(fast: number): number {
  const deep = Number(process.env['KS_PROPERTY_RUNS']);
  return Number.isInteger(deep) && deep > 0 ? deep : fast;
}
