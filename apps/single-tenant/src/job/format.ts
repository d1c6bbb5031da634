export type ReportFormat = 'ndjson' | 'csv'

export type Row = Record<string, unknown>

export interface Formatter {
  header(): string
  line(row: Row): string
  /** The value of `column` in one line this formatter wrote (undefined when the line is not one of them). */
  valueOf(line: string, column: string): string | undefined
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
      valueOf: (line, column) => {
        try {
          const value = (JSON.parse(line) as Row | null)?.[column]
          return typeof value === 'string' ? value : undefined
        } catch {
          return undefined
        }
      },
    }
  }
  return {
    header: () => `${columns.map(csvField).join(',')}\r\n`,
    line: (row) => `${columns.map((column) => csvField(row[column])).join(',')}\r\n`,
    valueOf: (line, column) => {
      const fields = line.endsWith('\r\n') ? parseCsvRecord(line.slice(0, -2)) : undefined
      return fields?.length === columns.length ? fields[columns.indexOf(column)] : undefined
    },
  }
}

/** RFC 4180: a field holding a comma, a quote or a line break is quoted, with quotes doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value)
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** The fields of one RFC 4180 record (without its line break), or undefined when it is not well formed. */
export function parseCsvRecord(record: string): string[] | undefined {
  const fields: string[] = []
  let i = 0
  for (;;) {
    if (record[i] === '"') {
      let value = ''
      i++
      for (;;) {
        const quote = record.indexOf('"', i)
        if (quote < 0) return undefined
        value += record.slice(i, quote)
        if (record[quote + 1] === '"') {
          value += '"'
          i = quote + 2
        } else {
          i = quote + 1
          break
        }
      }
      fields.push(value)
    } else {
      const comma = record.indexOf(',', i)
      const end = comma < 0 ? record.length : comma
      const value = record.slice(i, end)
      if (value.includes('"')) return undefined
      fields.push(value)
      i = end
    }
    if (i === record.length) return fields
    if (record[i] !== ',') return undefined
    i++
  }
}
