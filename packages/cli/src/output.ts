import { styleText } from 'node:util'

/** Where the command writes; tests and the terminal differ only in `isTTY`. */
export interface Io {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  env: NodeJS.ProcessEnv
}

/** Colours only on a terminal and without NO_COLOR (https://no-color.org). */
export function colours(io: Io, stream: 'stdout' | 'stderr' = 'stderr') {
  const on = io[stream].isTTY === true && !io.env['NO_COLOR'] && io.env['TERM'] !== 'dumb'
  const paint = (style: Parameters<typeof styleText>[0]) => (text: string) =>
    on ? styleText(style, text) : text
  return { ok: paint('green'), bad: paint('red'), dim: paint('dim'), bold: paint('bold') }
}

/** Writes one JSON document to stdout. */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Lines of `key  value` pairs, aligned. */
export function printPairs(io: Io, pairs: [string, string | undefined][]): void {
  const width = Math.max(...pairs.map(([k]) => k.length))
  for (const [k, v] of pairs) if (v !== undefined) io.stdout.write(`${k.padEnd(width)}  ${v}\n`)
}

/** Strips OData annotations and flattens values to text for a table cell. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value).replace(/\s+/g, ' ')
}

/** Columns of rows, without OData annotations. */
export function columnsOf(rows: readonly Record<string, unknown>[]): string[] {
  const seen = new Set<string>()
  for (const row of rows) for (const key of Object.keys(row)) if (!key.includes('@')) seen.add(key)
  return [...seen]
}

/** A plain text table for a terminal; cells longer than 40 characters are cut. */
export function formatTable(rows: readonly Record<string, unknown>[], columns = columnsOf(rows)): string {
  const cut = (s: string) => (s.length > 40 ? `${s.slice(0, 39)}…` : s)
  const cells = rows.map((r) => columns.map((c) => cut(cell(r[c]))))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)))
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

/** Removes OData annotations (`@odata.etag`, formatted values) from a row for export. */
export function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) if (!k.includes('@')) out[k] = v
  return out
}
