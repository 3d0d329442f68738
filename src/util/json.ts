/**
 * JSON from outside the agent (a registry's config blob, a token server, docker's
 * config.json) as an object, or undefined when it is not JSON or not an object: `null`,
 * `[]` and `"x"` parse, but no field can be read from them.
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
