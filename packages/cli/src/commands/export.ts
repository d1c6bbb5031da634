import { open, rename, rm, stat } from 'node:fs/promises'
import type { Command } from 'commander'
import { parse } from 'csv-parse/sync'
import { connect, type GlobalOptions, loadSettings, requireOrg } from '../connect.ts'
import type { Context } from '../context.ts'
import { CliError } from '../errors.ts'
import { readJson, writeFileAtomic } from '../files.ts'
import { columnsOf, plainRow, printJson } from '../output.ts'
import { createProgress } from '../progress.ts'
import { createRowWriter, type RowFormat } from '../row-writer.ts'
import { resolveTable } from '../tables.ts'
import { positiveInt } from './query.ts'

/** What an export saved after its last complete page: the output holds exactly `bytes` bytes, `rows` rows. */
interface ExportCheckpoint {
  version: 1
  org: string
  table: string
  format: RowFormat
  select: string | null
  filter: string | null
  columns: string[]
  rows: number
  bytes: number
  /** Primary id of the last row written: the export continues after it (rows are read in primary id order). */
  lastId: string | null
}

interface ExportOptions extends GlobalOptions {
  table: string
  out: string
  format?: RowFormat
  select?: string
  filter?: string
  pageSize?: string
  restart?: boolean
  force?: boolean
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

/** Reads the last line that ends at `end` (exclusive of its newline). */
async function lastLineBefore(path: string, end: number): Promise<string> {
  const fh = await open(path, 'r')
  try {
    const size = Math.min(end, 1 << 20)
    const buf = Buffer.alloc(size)
    await fh.read(buf, 0, size, end - size)
    const text = buf.toString('utf8').replace(/\r?\n$/, '')
    return text.slice(text.lastIndexOf('\n') + 1)
  } finally {
    await fh.close()
  }
}

/**
 * Trusts a checkpoint only if the partial output agrees with it: the file is at least as long, and its last row
 * before the checkpoint's length is the row the checkpoint names.
 */
async function verify(cp: ExportCheckpoint, partial: string, primaryId: string): Promise<void> {
  const bad = (why: string) =>
    new CliError('CHECKPOINT_INVALID', `The checkpoint does not match ${partial}: ${why}.`)
  const size = await stat(partial).then(
    (s) => s.size,
    () => -1,
  )
  if (size < 0) throw bad('the partial file is missing')
  if (size < cp.bytes) throw bad(`the file has ${size} bytes, the checkpoint says ${cp.bytes}`)
  if (cp.rows === 0) return
  const line = await lastLineBefore(partial, cp.bytes)
  let id: unknown
  try {
    if (cp.format === 'csv') {
      const [cells] = parse(line) as string[][]
      id = cells?.[cp.columns.indexOf(primaryId)]
    } else id = (JSON.parse(line) as Record<string, unknown>)[primaryId]
  } catch {
    throw bad('its last saved row cannot be read')
  }
  if (id !== cp.lastId) throw bad(`its last saved row is ${String(id)}, the checkpoint says ${cp.lastId}`)
}

/**
 * Memory after the first page (connections, TLS and JIT warmed up) and the most seen later: equal when memory is
 * flat. With `node --expose-gc` it collects garbage before each sample, so the heap figures are the live heap.
 */
function createMemoryProbe() {
  const gc = (globalThis as { gc?: () => void }).gc
  let first: { rssBytes: number; heapUsedBytes: number } | undefined
  const max = { rssBytes: 0, heapUsedBytes: 0 }
  return {
    sample() {
      gc?.()
      const { rss, heapUsed } = process.memoryUsage()
      first ??= { rssBytes: rss, heapUsedBytes: heapUsed }
      max.rssBytes = Math.max(max.rssBytes, rss)
      max.heapUsedBytes = Math.max(max.heapUsedBytes, heapUsed)
    },
    report: () => ({ firstPage: first ?? max, max, collected: gc !== undefined }),
  }
}

export function registerExport(program: Command, ctx: Context, withGlobals: (c: Command) => Command): void {
  withGlobals(
    program
      .command('export')
      .description(
        'Export a table to a file (NDJSON or CSV) with a progress bar; Ctrl-C keeps a checkpoint, run again to resume',
      )
      .requiredOption('--table <logicalName>', 'Table to export (account, new_project)')
      .requiredOption('--out <file>', 'Output file')
      .option('--format <format>', 'ndjson or csv (default: from the file extension, else ndjson)')
      .option('--select <columns>', 'Columns, comma-separated (default: all)')
      .option('--filter <expr>', 'OData $filter of the rows to export')
      .option('--page-size <n>', 'Rows per request (default 5000)')
      .option('--restart', 'Discard a checkpoint and start again')
      .option('--force', 'Replace --out if it exists'),
  ).action(async (opts: ExportOptions) => {
    const format: RowFormat = opts.format ?? (opts.out.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson')
    if (format !== 'csv' && format !== 'ndjson')
      throw new CliError('USAGE', '--format must be ndjson or csv.')
    const pageSize = positiveInt(opts.pageSize, '--page-size', 5000) ?? 5000
    const settings = await loadSettings(opts, ctx.io.env)
    const orgUrl = requireOrg(settings)
    const partial = `${opts.out}.partial`
    const checkpointPath = `${opts.out}.checkpoint.json`
    if (!opts.force && (await exists(opts.out)))
      throw new CliError('OUTPUT_EXISTS', `${opts.out} exists; the export writes a new file.`)
    if (opts.restart) {
      await rm(partial, { force: true })
      await rm(checkpointPath, { force: true })
    }
    const conn = await connect(settings, orgUrl)
    const table = await resolveTable(conn.client, opts.table, ctx.signal)
    const select = opts.select ? opts.select.split(',').map((s) => s.trim()) : undefined
    if (select && !select.includes(table.primaryId)) select.unshift(table.primaryId)

    let cp = await readJson<ExportCheckpoint>(checkpointPath)
    const resumed = cp !== undefined
    if (cp) {
      const same =
        cp.version === 1 &&
        cp.org === orgUrl &&
        cp.table === table.logicalName &&
        cp.format === format &&
        cp.select === (select?.join(',') ?? null) &&
        cp.filter === (opts.filter ?? null) &&
        (cp.lastId === null || GUID.test(cp.lastId))
      if (!same)
        throw new CliError(
          'CHECKPOINT_INVALID',
          `${checkpointPath} belongs to another export (org, table, format, columns or filter differ).`,
        )
      await verify(cp, partial, table.primaryId)
    } else if (await exists(partial)) {
      throw new CliError('CHECKPOINT_INVALID', `${partial} exists without its checkpoint ${checkpointPath}.`)
    }
    const fh = await open(partial, cp ? 'r+' : 'wx', 0o644)
    const writer = createRowWriter(format)
    const memory = createMemoryProbe()
    const progress = createProgress(ctx.io, 'rows')
    try {
      if (cp) await fh.truncate(cp.bytes)
      const total = await conn.client
        .count(table.entitySet, { ...(opts.filter ? { filter: opts.filter } : {}), signal: ctx.signal })
        .catch(() => 0)
      progress.start(total, cp?.rows ?? 0)
      for (;;) {
        if (ctx.signal.aborted) break
        const after = cp?.lastId ? `${table.primaryId} gt ${cp.lastId}` : undefined
        const filter = [opts.filter && `(${opts.filter})`, after].filter(Boolean).join(' and ')
        let page: Awaited<ReturnType<typeof conn.client.query<Record<string, unknown>>>>
        try {
          page = await conn.client.query<Record<string, unknown>>(table.entitySet, {
            ...(select ? { select } : {}),
            ...(filter ? { filter } : {}),
            orderBy: [table.primaryId],
            maxPageSize: pageSize,
            signal: ctx.signal,
          })
        } catch (err) {
          if (ctx.signal.aborted) break
          throw err
        }
        const rows = page.value.map(plainRow)
        let text = ''
        if (!cp) {
          const columns = select ?? columnsOf(rows)
          text = writer.begin(columns)
          cp = {
            version: 1,
            org: orgUrl,
            table: table.logicalName,
            format,
            select: select?.join(',') ?? null,
            filter: opts.filter ?? null,
            columns: [...columns],
            rows: 0,
            bytes: 0,
            lastId: null,
          }
        }
        text += writer.rows(rows, cp.rows === 0)
        const last = rows[rows.length - 1]
        if (text !== '') {
          const { bytesWritten } = await fh.write(text, cp.bytes, 'utf8')
          await fh.datasync()
          cp.bytes += bytesWritten
        }
        if (last) {
          cp.rows += rows.length
          cp.lastId = String(last[table.primaryId])
        }
        await writeFileAtomic(checkpointPath, JSON.stringify(cp))
        memory.sample()
        progress.update(cp.rows)
        if (rows.length === 0 || page.nextLink === undefined) break
      }
    } finally {
      progress.stop()
      await fh.close()
    }
    if (ctx.signal.aborted)
      throw new CliError(
        'INTERRUPTED',
        `Interrupted: ${cp?.rows ?? 0} rows are saved in ${partial} (checkpoint ${checkpointPath}).`,
      )
    await rename(partial, opts.out)
    await rm(checkpointPath, { force: true })
    const summary = {
      table: table.logicalName,
      out: opts.out,
      format,
      rows: cp?.rows ?? 0,
      resumed,
      memory: memory.report(),
    }
    if (opts.json) return printJson(ctx.io, summary)
    ctx.io.stdout.write(
      `Exported ${summary.rows} rows of ${table.logicalName} to ${opts.out}${resumed ? ' (resumed)' : ''}.\n`,
    )
  })
}
