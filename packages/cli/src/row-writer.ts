import { stringify } from 'csv-stringify/sync'

/** Output formats of query and export. */
export type RowFormat = 'json' | 'ndjson' | 'csv'

/** Turns rows into text, one batch at a time, so nothing holds more than a page. */
export interface RowWriter {
  /** Text before the first row (CSV header, JSON `[`). */
  begin(columns: readonly string[]): string
  rows(rows: readonly Record<string, unknown>[], first: boolean): string
  end(): string
}

const csvValue = (v: unknown) =>
  v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : v

export function createRowWriter(format: RowFormat): RowWriter {
  let columns: readonly string[] = []
  switch (format) {
    case 'ndjson':
      return {
        begin: () => '',
        rows: (rows) => rows.map((r) => `${JSON.stringify(r)}\n`).join(''),
        end: () => '',
      }
    case 'json':
      return {
        begin: () => '[',
        rows: (rows, first) =>
          rows.map((r, i) => `${first && i === 0 ? '\n' : ',\n'}${JSON.stringify(r)}`).join(''),
        end: () => '\n]\n',
      }
    case 'csv':
      return {
        begin: (cols) => {
          columns = cols
          return stringify([cols as string[]])
        },
        rows: (rows) => (rows.length ? stringify(rows.map((r) => columns.map((c) => csvValue(r[c])))) : ''),
        end: () => '',
      }
  }
}
