import { parseArgs } from 'node:util'
import type { ReportFormat } from './format.ts'

export interface JobOptions {
  environment: string | undefined
  table: string
  columns: string[]
  key: string
  filter: string | undefined
  format: ReportFormat
  output: string
  pageSize: number
  checkpointEvery: number
  /** Run again this often (ms); undefined = run once. */
  everyMs: number | undefined
  quiet: boolean
}

export class UsageError extends Error {
  override name = 'UsageError'
}

export const usage = `Usage: pnpm --filter single-tenant job [options]

Writes every row of a Dataverse table to NDJSON or CSV, as the application user. Resumes after a crash.

  --table <set>          entity set to read (default: contacts)
  --columns <a,b,c>      columns to write (default for contacts/accounts: a useful set; otherwise required)
  --key <column>         unique column the rows are ordered and resumed by (default: the table's id column)
  --filter <odata>       extra $filter (e.g. "statecode eq 0")
  --environment <name>   environment from DATAVERSE_ENVIRONMENTS (default: the first)
  --format ndjson|csv    output format (default: ndjson, or from the --output extension)
  --output <file>        where to write (default: reports/<table>.<format>)
  --page-size <n>        rows per page, 1..5000 (default 5000)
  --checkpoint-every <n> rows between checkpoints (default 1000)
  --every <duration>     run on a schedule, e.g. 15m, 1h, 30s (default: run once)
  --quiet                no progress lines
  --help`

const DEFAULT_COLUMNS: Record<string, string[]> = {
  contacts: ['contactid', 'fullname', 'emailaddress1', 'telephone1', 'createdon', 'modifiedon'],
  accounts: ['accountid', 'name', 'accountnumber', '_ownerid_value', 'createdon', 'modifiedon'],
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

/** `15m` → 900000. Units: ms, s, m, h, d. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim())
  if (!match) throw new UsageError(`--every: "${text}" is not a duration like 30s, 15m or 1h.`)
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ]
  const ms = Math.round(Number(match[1]) * unit)
  if (ms < 1_000) throw new UsageError('--every must be at least 1s.')
  return ms
}

function positive(text: string | undefined, name: string, fallback: number, max: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}.`)
  }
  return value
}

export function parseJobArgs(argv: string[]): JobOptions | 'help' {
  let values: ReturnType<typeof parse>['values']
  const parse = (args: string[]) =>
    parseArgs({
      args,
      strict: true,
      options: {
        table: { type: 'string' },
        columns: { type: 'string' },
        key: { type: 'string' },
        filter: { type: 'string' },
        environment: { type: 'string' },
        format: { type: 'string' },
        output: { type: 'string' },
        'page-size': { type: 'string' },
        'checkpoint-every': { type: 'string' },
        every: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    })
  try {
    values = parse(argv.filter((a) => a !== '--')).values
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  if (values.help) return 'help'
  const table = values.table ?? 'contacts'
  if (!NAME.test(table)) throw new UsageError('--table must be an entity set name such as contacts.')
  const key = values.key ?? `${table.replace(/ies$/, 'y').replace(/s$/, '')}id`
  if (!NAME.test(key)) throw new UsageError('--key must be a column name.')
  const listed =
    values.columns
      ?.split(',')
      .map((c) => c.trim())
      .filter(Boolean) ?? DEFAULT_COLUMNS[table]
  if (!listed) throw new UsageError(`--columns is required for ${table} (e.g. --columns ${key},name).`)
  for (const column of listed)
    if (!NAME.test(column)) throw new UsageError(`--columns: "${column}" is not a column name.`)
  const columns = listed.includes(key) ? listed : [key, ...listed]
  const fromExtension = values.output?.endsWith('.csv') ? 'csv' : 'ndjson'
  const format = (values.format ?? fromExtension) as ReportFormat
  if (format !== 'ndjson' && format !== 'csv') throw new UsageError('--format must be ndjson or csv.')
  return {
    environment: values.environment,
    table,
    columns,
    key,
    filter: values.filter,
    format,
    output: values.output ?? `reports/${table}.${format}`,
    pageSize: positive(values['page-size'], 'page-size', 5_000, 5_000),
    checkpointEvery: positive(values['checkpoint-every'], 'checkpoint-every', 1_000, 1_000_000),
    everyMs: values.every === undefined ? undefined : parseDuration(values.every),
    quiet: values.quiet === true,
  }
}

/** `$filter` for the rows after `lastKey`: GUIDs unquoted (Edm.Guid), anything else as a quoted string. */
export function afterKeyFilter(key: string, lastKey: string): string {
  const literal = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(lastKey)
    ? lastKey.toLowerCase()
    : `'${lastKey.replaceAll("'", "''")}'`
  return `${key} gt ${literal}`
}
