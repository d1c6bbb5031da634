export type ReportFormat = 'ndjson' | 'csv'

export type Row = Record<string, unknown>

export interface Formatter {
  header(): string
  line(row: Row): string
}

export function createFormatter(format: ReportFormat, columns: readonly string[]): Formatter {
  if (format === 'ndjson') {
    return {
      header: () => '',
      line: (row) => {
        const picked: Row = {}
        for (const column of columns) picked[column] = row[column] ?? null
        return `${JSON.stringify(picked)}\n`
      },
    }
  }
  return {
    header: () => `${columns.map(csvField).join(',')}\r\n`,
    line: (row) => `${columns.map((column) => csvField(row[column])).join(',')}\r\n`,
  }
}

/** RFC 4180: a field holding a comma, a quote or a line break is quoted, with quotes doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value)
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
