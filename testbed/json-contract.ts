/**
 * The machine contract: every --json document the agent prints names its schema
 * (src/cli/schemas/<document>.v1.json) and validates against it. runAgent checks every
 * --json run of every test through here, so a field renamed or left undefined fails
 * whatever test happens to produce it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';

const SCHEMAS = path.resolve(import.meta.dirname, '../src/cli/schemas');
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validators = new Map(
  readdirSync(SCHEMAS)
    .filter((f) => f.endsWith('.v1.json'))
    .map((f) => [`kairos-spegel/${f.replace('.v1.json', '')}/v1`, ajv.compile(JSON.parse(readFileSync(path.join(SCHEMAS, f), 'utf8')) as object)]),
);

/** The schema ids the repository has, one per document. */
export const SCHEMA_IDS = [...validators.keys()];

/** Parses `stdout` as one --json document and checks it against the schema it names; returns it. */
export function checkJsonDocument(what: string, stdout: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error(`${what}: stdout is not one JSON document:\n${stdout.slice(0, 2000)}`);
  }
  const id = (doc as { schema?: unknown }).schema;
  const validate = typeof id === 'string' ? validators.get(id) : undefined;
  if (!validate) throw new Error(`${what}: the document names no known schema (schema: ${JSON.stringify(id)})`);
  if (!validate(doc)) throw new Error(`${what}: the document does not match ${String(id)}: ${ajv.errorsText(validate.errors)}\n${stdout.slice(0, 2000)}`);
  return doc as Record<string, unknown>;
}
