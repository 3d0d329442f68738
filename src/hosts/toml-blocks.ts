/**
 * A TOML file as text blocks: the top-level key/value lines, then one block per
 * `[table]` header with the comment lines directly above it. Merging at this level
 * keeps a user's tables byte for byte (comments, quoting, order), which a
 * parse-and-reprint would not.
 */
import TOML from '@iarna/toml';
import { ConfigError } from '../errors.ts';

export interface TomlBlock {
  /** Key path of the table header, e.g. ['host', 'http://10.0.0.5:30020', 'header']. */
  path: string[];
  /** Lines: leading comments, the header, the body (trailing blank lines removed). */
  lines: string[];
}

export interface TomlText {
  /** Top-level lines before the first table (trailing blank lines removed). */
  preamble: string[];
  blocks: TomlBlock[];
}

/** Throws a ConfigError naming file and line when `text` is not valid TOML. */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return TOML.parse(text);
  } catch (err) {
    const e = err as { message?: string; line?: number; col?: number };
    const first = (e.message ?? String(err)).split(' at row ')[0];
    throw new ConfigError([{ at: { file, line: (e.line ?? 0) + 1, col: (e.col ?? 0) + 1 }, key: '', message: `not valid TOML: ${first}` }]);
  }
}

interface LexState {
  mlBasic: boolean;
  mlLiteral: boolean;
  depth: number;
}

/** How many times `c` repeats from `i` on. */
function runOf(line: string, i: number, c: string): number {
  let n = 0;
  while (line[i + n] === c) n++;
  return n;
}

/** Advances the multi-line state over one line (strings, comments, brackets). */
function scanLine(line: string, st: LexState): void {
  let i = 0;
  while (i < line.length) {
    // A multi-line string ends at a run of three to five quotes: the last three close it,
    // one or two before them are its content (TOML 1.0: `"""say "hi""""` is `say "hi"`).
    if (st.mlBasic) {
      if (line[i] === '\\') i += 2;
      else if (line.startsWith('"""', i)) {
        st.mlBasic = false;
        i += runOf(line, i, '"');
      } else i++;
      continue;
    }
    if (st.mlLiteral) {
      if (line.startsWith("'''", i)) {
        st.mlLiteral = false;
        i += runOf(line, i, "'");
      } else i++;
      continue;
    }
    const c = line[i]!;
    if (c === '#') return;
    if (line.startsWith('"""', i)) {
      st.mlBasic = true;
      i += 3;
    } else if (line.startsWith("'''", i)) {
      st.mlLiteral = true;
      i += 3;
    } else if (c === '"') {
      i++;
      while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      i = end < 0 ? line.length : end + 1;
    } else {
      if (c === '[' || c === '{') st.depth++;
      else if (c === ']' || c === '}') st.depth--;
      i++;
    }
  }
}

function headerPath(line: string): string[] {
  let node: unknown = TOML.parse(line);
  const out: string[] = [];
  for (;;) {
    if (Array.isArray(node)) node = node[0];
    if (typeof node !== 'object' || node === null) return out;
    const keys = Object.keys(node);
    if (keys.length !== 1) return out;
    out.push(keys[0]!);
    node = (node as Record<string, unknown>)[keys[0]!];
  }
}

function trimBlankEnd(lines: string[]): string[] {
  let n = lines.length;
  while (n > 0 && lines[n - 1]!.trim() === '') n--;
  return lines.slice(0, n);
}

/** Splits valid TOML text into blocks (validate with parseToml first). */
export function splitToml(text: string): TomlText {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const preamble: string[] = [];
  const blocks: TomlBlock[] = [];
  let current = preamble;
  const st: LexState = { mlBasic: false, mlLiteral: false, depth: 0 };
  // How many lines at the end of `current` are comments: lines that start with '#' outside
  // any string or array (the last lines of a multi-line string may start with '#' too).
  let comments = 0;
  for (const line of lines) {
    const atTop = !st.mlBasic && !st.mlLiteral && st.depth === 0;
    if (atTop && line.trimStart().startsWith('[')) {
      // Comment lines directly above a header belong to it.
      const leading = current.splice(current.length - comments);
      const block: TomlBlock = { path: headerPath(line), lines: [...leading, line] };
      blocks.push(block);
      current = block.lines;
      comments = 0;
      continue;
    }
    current.push(line);
    comments = atTop && line.trimStart().startsWith('#') ? comments + 1 : 0;
    scanLine(line, st);
  }
  return { preamble: trimBlankEnd(preamble), blocks: blocks.map((b) => ({ ...b, lines: trimBlankEnd(b.lines) })) };
}

export function joinToml(sections: string[][]): string {
  return `${sections
    .filter((s) => s.length > 0)
    .map((s) => s.join('\n'))
    .join('\n\n')}\n`;
}
