import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'
import type { Row } from './format.ts'
import { afterKeyFilter, type JobOptions } from './options.ts'
import { type ReportResult, runReport } from './report.ts'

export interface JobLog {
  progress(line: string): void
  info(line: string): void
  warn(line: string): void
}

/** One report run over `client` as described by `options`; see {@link runReport} for the crash guarantees. */
export async function runJob(
  client: DataverseClient,
  options: JobOptions,
  log: JobLog,
  signal?: AbortSignal,
): Promise<ReportResult> {
  await mkdir(dirname(options.output), { recursive: true })
  const extra = options.filter ? `(${options.filter})` : undefined
  const started = Date.now()
  const result = await runReport({
    output: options.output,
    format: options.format,
    columns: options.columns,
    key: options.key,
    query: JSON.stringify([client.url, options.table, options.filter ?? '']),
    checkpointEvery: options.checkpointEvery,
    ...(signal ? { signal } : {}),
    rows: (after, rowSignal) => {
      const filters = [extra, after === null ? undefined : afterKeyFilter(options.key, after)].filter(Boolean)
      return client.queryAll<Row>(options.table, {
        select: options.columns,
        orderBy: [`${options.key} asc`],
        maxPageSize: options.pageSize,
        signal: rowSignal,
        ...(filters.length > 0 ? { filter: filters.join(' and ') } : {}),
      })
    },
    // Dataverse's $count stops at 5,000: beyond that the total is unknown and progress shows rows only.
    total: async () => {
      const n = await client.count(options.table, options.filter ? { filter: options.filter } : {})
      return n < 5_000 ? n : undefined
    },
    onProgress: (p) => {
      const pct = p.total ? ` (${((100 * p.rows) / p.total).toFixed(1)}%)` : ''
      log.progress(
        `progress rows=${p.rows} total=${p.total ?? '?'}${pct} rate=${Math.round(p.rowsPerSecond)}/s${p.resumedAt ? ` resumed-at=${p.resumedAt}` : ''}`,
      )
    },
    // A 4xx other than 408/429 (a bad filter, a missing column, no privilege) fails the same way every time: the
    // client has already refreshed the token once for a 401, and restarting would only wait minutes for nothing.
    isPermanent: (error) =>
      isDataverseError(error) &&
      !error.isTransient &&
      error.status !== undefined &&
      error.status >= 400 &&
      error.status < 500 &&
      error.status !== 408,
    onCheckpointRejected: (reason) =>
      log.warn(`not resuming: ${reason}; starting the report again from the first row`),
    onRestart: (error, attempt, delayMs) => {
      const what = error instanceof Error ? `${error.name}: ${error.message}` : 'error'
      log.warn(
        `reading failed (${what.slice(0, 200)}); restart ${attempt} from the last checkpoint in ${delayMs} ms`,
      )
    },
  })
  log.info(
    `done: ${result.rows} rows in ${options.output}${result.resumedAt ? ` (resumed at row ${result.resumedAt})` : ''}, ${result.restarts} restarts, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
  return result
}
