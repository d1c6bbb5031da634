import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { type BulkWrittenChunk, isDataverseError, type Row } from '@dataverse-s2s/webapi'
import type { Command } from 'commander'
import { parse } from 'csv-parse'
import { connect, type GlobalOptions, loadSettings, requireOrg } from '../connect.ts'
import type { Context } from '../context.ts'
import { CliError } from '../errors.ts'
import { readJson, writeFileAtomic } from '../files.ts'
import { printJson } from '../output.ts'
import { createProgress } from '../progress.ts'
import { addRange, coveredCount, createPositionMap, type Ranges } from '../ranges.ts'
import { type ColumnKind, resolveTable } from '../tables.ts'
import { positiveInt } from './query.ts'

/** Which rows of the file are in the org: positions (0-based, header excluded) of the chunks Dataverse wrote. */
interface ImportCheckpoint {
  version: 1
  org: string
  table: string
  file: { size: number; mtimeMs: number }
  written: Ranges
  /**
   * Seed of the ids given to rows created without one: row N of the file always gets the same id, so a chunk whose
   * response was lost (written or not, nobody knows) is upserted on resume instead of created a second time.
   */
  idSeed?: string
}

/** The id row `index` of an import gets: a GUID from the import's seed and the row's position (version-4 layout). */
function importRowId(seed: string, index: number): string {
  const h = createHash('sha256').update(`${seed}:${index}`).digest()
  h[6] = ((h[6] as number) & 0x0f) | 0x40
  h[8] = ((h[8] as number) & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
}

interface ImportOptions extends GlobalOptions {
  table: string
  format?: 'csv' | 'ndjson'
  chunkSize?: string
  key?: string
  restart?: boolean
}

/** The file's rows, one at a time (constant memory), with their position in the file. */
async function* readRows(
  path: string,
  format: 'csv' | 'ndjson',
  kinds: ReadonlyMap<string, ColumnKind>,
): AsyncGenerator<Row> {
  if (format === 'csv') {
    const parser = createReadStream(path).pipe(
      parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: false }),
    )
    let line = 1
    try {
      for await (const record of parser as AsyncIterable<Record<string, unknown>>) {
        line++
        const row: Row = {}
        for (const [k, v] of Object.entries(record)) {
          if (v === '') continue
          const value = cellValue(String(v), kinds.get(k) ?? 'text')
          if (value === undefined)
            throw new CliError(
              'INPUT_INVALID',
              `${path}, line ${line}: column ${k} needs a ${kinds.get(k)}, got ${JSON.stringify(v)}.`,
            )
          row[k] = value
        }
        yield row
      }
    } catch (err) {
      if (err instanceof CliError) throw err
      throw new CliError('INPUT_INVALID', `${path}, near line ${line + 1}: ${(err as Error).message}`)
    }
    return
  }
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })
  let n = 0
  for await (const text of lines) {
    n++
    if (text.trim() === '') continue
    let row: unknown
    try {
      row = JSON.parse(text)
    } catch {
      throw new CliError('INPUT_INVALID', `${path}, line ${n}: not a JSON object.`)
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new CliError('INPUT_INVALID', `${path}, line ${n}: not a JSON object.`)
    yield row as Row
  }
}

/** A CSV cell as the column's JSON type; undefined when it is not one. */
function cellValue(text: string, kind: ColumnKind): string | number | boolean | undefined {
  if (kind === 'number') {
    const n = Number(text)
    return text.trim() !== '' && Number.isFinite(n) ? n : undefined
  }
  if (kind === 'boolean') {
    const t = text.trim().toLowerCase()
    return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : undefined
  }
  return text
}

async function countRows(path: string, format: 'csv' | 'ndjson'): Promise<number> {
  let n = 0
  for await (const _ of readRows(path, format, new Map())) n++
  return n
}

export function registerImport(program: Command, ctx: Context, withGlobals: (c: Command) => Command): void {
  withGlobals(
    program
      .command('import')
      .description(
        'Load a CSV or NDJSON file into a table through the bulk messages, with a progress bar; resumable',
      )
      .argument('<file>', 'CSV (with a header row) or NDJSON file')
      .requiredOption('--table <logicalName>', 'Table to load (account, new_project)')
      .option('--format <format>', 'csv or ndjson (default: from the file extension)')
      .option('--chunk-size <n>', 'Rows per request (default 1000; 100 for elastic tables)')
      .option('--key <column>', 'Upsert by this alternate key column instead of creating rows')
      .option('--restart', 'Ignore a checkpoint and send every row again'),
  ).action(async (file: string, opts: ImportOptions) => {
    const format = opts.format ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson')
    if (format !== 'csv' && format !== 'ndjson')
      throw new CliError('USAGE', '--format must be csv or ndjson.')
    const chunkSize = positiveInt(opts.chunkSize, '--chunk-size', 5000) ?? 1000
    const info = await stat(file).catch(() => {
      throw new CliError('USAGE', `Cannot read ${file}.`)
    })
    const settings = await loadSettings(opts, ctx.io.env)
    const orgUrl = requireOrg(settings)
    const conn = await connect(settings, orgUrl)
    const table = await resolveTable(conn.client, opts.table, ctx.signal)
    const checkpointPath = `${file}.checkpoint.json`
    const fileId = { size: info.size, mtimeMs: info.mtimeMs }
    const cp = opts.restart ? undefined : await readJson<ImportCheckpoint>(checkpointPath)
    if (cp) {
      if (cp.version !== 1 || cp.org !== orgUrl || cp.table !== table.logicalName)
        throw new CliError(
          'CHECKPOINT_INVALID',
          `${checkpointPath} belongs to an import into another org or table.`,
        )
      if (cp.file.size !== fileId.size || cp.file.mtimeMs !== fileId.mtimeMs)
        throw new CliError('CHECKPOINT_INVALID', `${file} changed since ${checkpointPath} was written.`)
    }
    const state: ImportCheckpoint = cp ?? {
      version: 1,
      org: orgUrl,
      table: table.logicalName,
      file: fileId,
      written: [],
    }
    const alreadyWritten = coveredCount(state.written)
    // Rows that carry the primary id (or an alternate key) are upserted: sending a chunk twice is then harmless.
    let operation: 'create' | 'upsert' = opts.key ? 'upsert' : 'create'
    // Rows created without an id get one from the checkpoint's seed, saved before anything is sent: a resumed import
    // upserts them, so a chunk that was written although its response was lost is not created twice.
    const resumingCreates = cp !== undefined && cp.idSeed !== undefined
    state.idSeed ??= randomBytes(16).toString('hex')
    const idSeed = state.idSeed
    const positions = createPositionMap()
    const skip = [...state.written]
    async function* pending(): AsyncGenerator<Row> {
      let index = 0
      let r = 0
      for await (const row of readRows(file, format, table.columnKinds)) {
        if (index === 0 && !opts.key && row[table.primaryId] !== undefined) operation = 'upsert'
        while (r < skip.length && (skip[r] as [number, number])[1] <= index) r++
        const range = skip[r]
        if (!(range && range[0] <= index && index < range[1])) {
          if (operation === 'create' && row[table.primaryId] === undefined) {
            row[table.primaryId] = importRowId(idSeed, index)
          }
          positions.note(index)
          yield row
        }
        index++
      }
    }
    let saving = Promise.resolve()
    const save = () => {
      saving = saving.then(() => writeFileAtomic(checkpointPath, JSON.stringify(state)))
      return saving
    }
    await save() // the id seed is on disk before the first row is sent
    const record = (chunk: Pick<BulkWrittenChunk, 'start' | 'count'>) => {
      for (let i = chunk.start; i < chunk.start + chunk.count; ) {
        const first = positions.toOriginal(i)
        let j = i + 1
        while (j < chunk.start + chunk.count && positions.toOriginal(j) === first + (j - i)) j++
        state.written = addRange(state.written, first, first + (j - i))
        i = j
      }
    }
    const total = ctx.io.stderr.isTTY ? await countRows(file, format) : 0
    const progress = createProgress(ctx.io, 'rows')
    progress.start(total, alreadyWritten)
    const rows = pending()
    // peek the first row so the operation is known before the first chunk goes
    const first = await rows.next()
    async function* all(): AsyncGenerator<Row> {
      if (!first.done) yield first.value
      yield* rows
    }
    const bulkTable = { entitySet: table.entitySet, logicalName: table.logicalName }
    const options = {
      chunkSize,
      signal: ctx.signal,
      onChunk: (chunk: BulkWrittenChunk) => {
        record(chunk)
        progress.update(coveredCount(state.written))
        void save()
      },
    }
    try {
      if (operation === 'upsert' || resumingCreates) {
        const key = opts.key
        await conn.client.upsertMultiple(bulkTable, all(), {
          ...options,
          ...(key ? { key: (row: Row) => ({ [key]: row[key] as string }) } : {}),
        })
      } else {
        await conn.client.createMultiple(bulkTable, all(), options)
      }
    } catch (err) {
      if (isDataverseError(err) && err.bulk) for (const chunk of err.bulk.written) record(chunk)
      progress.stop()
      await save()
      // a malformed row of the file stopped the bulk operation: name the row, not the operation
      for (
        let cause: unknown = err, depth = 0;
        cause instanceof Error && depth < 4;
        cause = cause.cause, depth++
      )
        if (cause instanceof CliError) throw cause
      if (isDataverseError(err))
        for (const chunk of err.bulk?.failed ?? [])
          if (chunk.error.cause instanceof CliError) throw chunk.error.cause
      if (ctx.signal.aborted)
        throw new CliError(
          'INTERRUPTED',
          `Interrupted: ${coveredCount(state.written)} rows of ${file} are written (checkpoint ${checkpointPath}).`,
        )
      throw err
    }
    progress.stop()
    await saving
    await rm(checkpointPath, { force: true })
    const summary = {
      table: table.logicalName,
      file,
      operation,
      rows: coveredCount(state.written),
      skipped: alreadyWritten,
    }
    if (opts.json) return printJson(ctx.io, summary)
    ctx.io.stdout.write(
      `${operation === 'upsert' ? 'Upserted' : 'Created'} ${summary.rows - alreadyWritten} rows in ${table.logicalName}${alreadyWritten ? ` (${alreadyWritten} were already written)` : ''}.\n`,
    )
  })
}
