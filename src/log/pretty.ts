/** Turns one pino JSON line into "12:00:01 WARN  message key=value" for people at a terminal. */

const COLORS: Record<string, string> = { trace: '90', debug: '90', info: '36', warn: '33', error: '31', fatal: '35' };
const OMIT = new Set(['level', 'time', 'msg']);

function show(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

export function formatPretty(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- pino writes a label or a number here
  const level = String(rec['level'] ?? 'info');
  const time = typeof rec['time'] === 'string' ? rec['time'].slice(11, 19) : '';
  const tag = level.toUpperCase().padEnd(5);
  const fields = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => {
      if (k === 'err' && typeof v === 'object' && v !== null && 'message' in v) return `err=${show(v.message)}`;
      return `${k}=${show(v)}`;
    });
  const head = color ? `\x1b[2m${time}\x1b[0m \x1b[${COLORS[level] ?? '0'}m${tag}\x1b[0m` : `${time} ${tag}`;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- pino writes the message as a string
  return `${head} ${String(rec['msg'] ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}
