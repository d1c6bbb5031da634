import { readFile } from 'node:fs/promises'
import type { QueryOptions } from '@dataverse-s2s/webapi'
import type { Command } from 'commander'
import { connect, type GlobalOptions, loadSettings, requireOrg } from '../connect.ts'
import type { Context } from '../context.ts'
import { CliError } from '../errors.ts'
import { fetchXmlEntityName } from '../fetchxml-entity.ts'
import { columnsOf, formatTable, plainRow } from '../output.ts'
import { createRowWriter, type RowFormat } from '../row-writer.ts'
import { resolveTable } from '../tables.ts'

const TABLE_ROWS = 200

export interface QueryCommandOptions extends GlobalOptions {
  select?: string
  filter?: string
  orderby?: string
  top?: string
  expand?: string
  fetchxml?: string
  format?: 'table' | RowFormat
  pageSize?: string
}

export function positiveInt(
  value: string | undefined,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new CliError('USAGE', `${name} must be an integer from 1 to ${max}.`)
  return n
}

export function registerQuery(program: Command, ctx: Context, withGlobals: (c: Command) => Command): void {
  withGlobals(
    program
      .command('query')
      .description(
        'Query an entity set with OData options or a FetchXML file: a table on a terminal, NDJSON otherwise',
      )
      .argument(
        '[entitySet]',
        'Entity set to query (accounts); with --fetchxml, taken from the FetchXML when omitted',
      )
      .option('--select <columns>', 'Columns, comma-separated')
      .option('--filter <expr>', 'OData $filter, e.g. "statecode eq 0"')
      .option('--orderby <columns>', 'OData $orderby, e.g. "name desc"')
      .option('--top <n>', 'At most this many rows')
      .option('--expand <expr>', 'OData $expand')
      .option('--fetchxml <file>', 'Run the FetchXML query in this file instead of OData options')
      .option(
        '--format <format>',
        'table, json, ndjson or csv (default: table on a terminal, ndjson otherwise; json with --json)',
      )
      .option('--page-size <n>', 'Rows per request (max 5000)'),
  ).action(async (entitySetArg: string | undefined, opts: QueryCommandOptions) => {
    const format = opts.format ?? (opts.json ? 'json' : ctx.io.stdout.isTTY ? 'table' : 'ndjson')
    if (!['table', 'json', 'ndjson', 'csv'].includes(format))
      throw new CliError('USAGE', '--format must be table, json, ndjson or csv.')
    const top = positiveInt(opts.top, '--top')
    const pageSize = positiveInt(opts.pageSize, '--page-size', 5000)
    if (
      opts.fetchxml !== undefined &&
      (opts.select ?? opts.filter ?? opts.orderby ?? opts.expand ?? opts.top) !== undefined
    )
      throw new CliError(
        'USAGE',
        '--fetchxml carries its own columns, filter and order: drop the OData options.',
      )
    const settings = await loadSettings(opts, ctx.io.env)
    const orgUrl = requireOrg(settings)
    const conn = await connect(settings, orgUrl)
    let rows: AsyncIterable<Record<string, unknown>>
    if (opts.fetchxml !== undefined) {
      let xml: string
      try {
        xml = await readFile(opts.fetchxml, 'utf8')
      } catch (err) {
        throw new CliError(
          'USAGE',
          `Cannot read --fetchxml ${opts.fetchxml}: ${(err as NodeJS.ErrnoException).code}.`,
        )
      }
      let entitySet = entitySetArg
      if (entitySet === undefined) {
        const entity = fetchXmlEntityName(xml)
        if ('problem' in entity)
          throw new CliError(
            'USAGE',
            `${opts.fetchxml} names no table: ${entity.problem}. Fix the file, or pass the entity set as an argument.`,
          )
        const { name } = entity
        entitySet = (await resolveTable(conn.client, name, ctx.signal)).entitySet
      }
      rows = conn.client.fetchXml(entitySet, xml, { signal: ctx.signal, ...(pageSize ? { pageSize } : {}) })
    } else {
      if (entitySetArg === undefined)
        throw new CliError('USAGE', 'Name the entity set to query (accounts), or pass --fetchxml <file>.')
      const query: QueryOptions = {
        ...(opts.select ? { select: opts.select.split(',').map((s) => s.trim()) } : {}),
        ...(opts.filter ? { filter: opts.filter } : {}),
        ...(opts.orderby ? { orderBy: opts.orderby.split(',').map((s) => s.trim()) } : {}),
        ...(opts.expand ? { expand: opts.expand } : {}),
        ...(top !== undefined ? { top } : {}),
      }
      rows = conn.client.queryAll(entitySetArg, {
        ...query,
        signal: ctx.signal,
        ...(pageSize ? { maxPageSize: pageSize } : {}),
      })
    }
    if (format === 'table') {
      const shown: Record<string, unknown>[] = []
      let more = false
      for await (const row of rows) {
        if (shown.length === TABLE_ROWS) {
          more = true
          break
        }
        shown.push(plainRow(row))
      }
      ctx.io.stdout.write(`${formatTable(shown)}\n`)
      ctx.io.stdout.write(
        more
          ? `(first ${TABLE_ROWS} rows; --format ndjson or csv writes them all)\n`
          : `(${shown.length} row${shown.length === 1 ? '' : 's'})\n`,
      )
      return
    }
    const writer = createRowWriter(format)
    const write = (text: string) =>
      text === '' || ctx.io.stdout.write(text)
        ? undefined
        : new Promise<void>((r) => ctx.io.stdout.once('drain', () => r()))
    let first = true
    let batch: Record<string, unknown>[] = []
    const flush = async () => {
      if (first) {
        await write(
          writer.begin(opts.select ? opts.select.split(',').map((s) => s.trim()) : columnsOf(batch)),
        )
      }
      await write(writer.rows(batch, first))
      first = false
      batch = []
    }
    for await (const row of rows) {
      batch.push(plainRow(row))
      if (batch.length === 500) await flush()
    }
    if (batch.length || first) await flush()
    await write(writer.end())
  })
}
