/**
 * The small JSON files the agent writes for itself (staging markers, node state, transfer
 * counts), read back. Each is replaced atomically, so a torn file means a disk fault or a
 * hand edit: it reads as absent, and the caller starts over (re-unpacks, recounts) rather
 * than failing every later run on it.
 */
import { parseJsonObject } from '../util/json.ts';
import { readFile } from 'node:fs/promises';
import { errnoCode } from '../errors.ts';

export async function readOwnJson(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return parseJsonObject(text);
}
