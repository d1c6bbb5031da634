import { createHash, randomUUID } from 'node:crypto'
import { type FileHandle, link, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Checkpoint,
  createExclusive,
  openExisting,
  readCheckpoint,
  removeCheckpoint,
  syncFolder,
  verifyAgainstOutput,
  writeCheckpoint,
} from './checkpoint.ts'
import { createFormatter, type ReportFormat, type Row } from './format.ts'

export interface ReportProgress {
  rows: number
  total: number | undefined
  /** Rows already in the output when this run started (0 unless it resumed). */
  resumedAt: number
  rowsPerSecond: number
}

export interface ReportOptions {
  /** The finished report; while running, rows go to `<output>.partial` and the checkpoint to `<output>.checkpoint.json`. */
  output: string
  format: ReportFormat
  columns: readonly string[]
  /** The column whose value orders the rows and identifies where to resume; it must be unique. */
  key: string
  /** Rows in ascending `key` order, starting after `afterKey` (all rows when it is null). */
  rows: (afterKey: string | null, signal: AbortSignal) => AsyncIterable<Row>
  /** The number of rows expected, for progress; optional. */
  total?: () => Promise<number | undefined>
  /** Anything else that defines the query (table, filter): a checkpoint left by another query is not resumed. */
  query?: string
  /** Rows between two checkpoints. Default 1,000. */
  checkpointEvery?: number
  /** How often a failing source is restarted from the last checkpoint before the run gives up. Default 8. */
  maxRestarts?: number
  /** Backoff before the first restart; doubles each time up to 60 s. Default 1 s. */
  restartDelayMs?: number
  onProgress?: (progress: ReportProgress) => void
  onRestart?: (error: unknown, attempt: number, delayMs: number) => void
  /** A checkpoint was found but not trusted; the run starts over. `reason` says why. */
  onCheckpointRejected?: (reason: string) => void
  /**
   * Whether a failure of the source will fail again however often it is repeated (a 400 for a bad filter, a 403):
   * such a failure stops the run at once (`SOURCE_REFUSED`) instead of being restarted. Default: none is.
   */
  isPermanent?: (error: unknown) => boolean
  signal?: AbortSignal
}

export interface ReportResult {
  output: string
  rows: number
  resumedAt: number
  restarts: number
}

export class ReportError extends Error {
  override name = 'ReportError'
  constructor(
    readonly code: 'SOURCE_FAILED' | 'SOURCE_REFUSED' | 'BAD_ROW' | 'LOCKED' | 'ABORTED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * Writes every row of a query to NDJSON or CSV and survives crashes: rows are appended to a partial file, and
 * every `checkpointEvery` rows the file is flushed to disk and a checkpoint records the byte offset and the key
 * of the last row written. A restarted run truncates the partial file to that offset and asks the source for
 * the rows after that key, so no row is written twice or skipped. When the source fails (throttling beyond the
 * client's own retries, a dropped connection), the run restarts it from the last row written, with backoff.
 */
export async function runReport(options: ReportOptions): Promise<ReportResult> {
  const partial = `${options.output}.partial`
  const checkpointPath = `${options.output}.checkpoint.json`
  const lockPath = `${options.output}.lock`
  const every = options.checkpointEvery ?? 1_000
  const maxRestarts = options.maxRestarts ?? 8
  const formatter = createFormatter(options.format, options.columns)
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([options.format, options.columns, options.key, options.query ?? '']))
    .digest('hex')

  const unlock = await lock(lockPath)
  let file: FileHandle | undefined
  try {
    const header = Buffer.from(formatter.header())
    const found = await readCheckpoint(checkpointPath, fingerprint)
    let checkpoint = found.ok ? found.checkpoint : undefined
    let rejected = found.ok ? undefined : found.reason
    if (checkpoint) {
      try {
        // Never through a symbolic link planted at the partial file's name (ELOOP).
        file = await openExisting(partial)
        rejected = await verifyAgainstOutput(file, checkpoint, header, (line) =>
          formatter.valueOf(line, options.key),
        )
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        rejected =
          code === 'ENOENT'
            ? 'the partial output is missing'
            : code === 'ELOOP'
              ? 'the partial output is a symbolic link'
              : `the partial output cannot be read (${code ?? 'error'})`
      }
      if (rejected) {
        await file?.close()
        file = undefined
        checkpoint = undefined
      } else {
        // Anything after the checkpoint was written after the last flush we trust: drop it, it will be re-read.
        await file!.truncate(checkpoint.offset)
      }
    }
    if (rejected) options.onCheckpointRejected?.(rejected)
    if (!checkpoint || !file) {
      // A fresh partial file, created exclusively: whatever is at its name (an old file, a planted link) goes first.
      await rm(partial, { force: true })
      file = await createExclusive(partial)
      await file.write(header, 0, header.length, 0)
      await file.sync()
      const at = new Date().toISOString()
      checkpoint = {
        version: 1,
        fingerprint,
        lastKey: null,
        offset: header.length,
        lastLineBytes: 0,
        rows: 0,
        startedAt: at,
        updatedAt: at,
      }
      await writeCheckpoint(checkpointPath, checkpoint)
    }

    const total = await options.total?.().catch(() => undefined)
    const resumedAt = checkpoint.rows
    const started = performance.now()
    const state: Checkpoint = { ...checkpoint }
    const handle = file
    let pending: Buffer[] = []
    let pendingBytes = 0
    let pendingRows = 0
    let pendingKey: string | null = state.lastKey
    let pendingLastLineBytes = state.lastLineBytes

    const progress = () =>
      options.onProgress?.({
        rows: state.rows,
        total,
        resumedAt,
        rowsPerSecond: (state.rows - resumedAt) / Math.max(0.001, (performance.now() - started) / 1000),
      })

    const flush = async () => {
      if (pendingRows === 0) return
      const data = Buffer.concat(pending, pendingBytes)
      let written = 0
      while (written < data.length) {
        const { bytesWritten } = await handle.write(
          data,
          written,
          data.length - written,
          state.offset + written,
        )
        written += bytesWritten
      }
      await handle.sync()
      state.offset += data.length
      state.rows += pendingRows
      state.lastKey = pendingKey
      state.lastLineBytes = pendingLastLineBytes
      state.updatedAt = new Date().toISOString()
      await writeCheckpoint(checkpointPath, state)
      pending = []
      pendingBytes = 0
      pendingRows = 0
      progress()
    }

    let restarts = 0
    let failures = 0
    for (;;) {
      const rowsBefore = state.rows + pendingRows
      if (options.signal?.aborted)
        throw new ReportError('ABORTED', 'The report was stopped; run it again to resume.')
      const controller = new AbortController()
      const onAbort = () => controller.abort(options.signal?.reason)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      try {
        for await (const row of options.rows(state.lastKey, controller.signal)) {
          controller.signal.throwIfAborted()
          const key = row[options.key]
          if (typeof key !== 'string' || key.length === 0) {
            throw new ReportError(
              'BAD_ROW',
              `A row has no value in the key column "${options.key}"; select it and make sure it is unique.`,
            )
          }
          const line = Buffer.from(formatter.line(row))
          pending.push(line)
          pendingBytes += line.length
          pendingRows++
          pendingKey = key
          pendingLastLineBytes = line.length
          if (pendingRows >= every) await flush()
        }
        await flush()
        break
      } catch (error) {
        if (error instanceof ReportError) throw error
        // Keep what was read before the failure: those rows are complete and in order.
        await flush()
        if (options.isPermanent?.(error)) {
          const what = error instanceof Error ? error.message : String(error)
          throw new ReportError(
            'SOURCE_REFUSED',
            `The source refused the query, and repeating it will not help: ${what.slice(0, 300)} (stopped at row ${state.rows}).`,
            { cause: error },
          )
        }
        if (options.signal?.aborted) {
          throw new ReportError('ABORTED', 'The report was stopped; run it again to resume.', {
            cause: error,
          })
        }
        // Only failures without any progress in between count towards giving up.
        failures = state.rows > rowsBefore ? 1 : failures + 1
        if (failures > maxRestarts) {
          throw new ReportError(
            'SOURCE_FAILED',
            `Reading rows failed ${failures} times in a row; the run stopped at row ${state.rows} and resumes there next time.`,
            { cause: error },
          )
        }
        const delay = Math.min(60_000, (options.restartDelayMs ?? 1_000) * 2 ** (failures - 1))
        restarts++
        options.onRestart?.(error, restarts, delay)
        await sleep(delay, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined)
      } finally {
        options.signal?.removeEventListener('abort', onAbort)
      }
    }

    await handle.sync()
    await handle.close()
    file = undefined
    await rename(partial, options.output)
    await syncFolder(dirname(options.output))
    await removeCheckpoint(checkpointPath)
    return { output: options.output, rows: state.rows, resumedAt, restarts }
  } finally {
    await file?.close()
    await unlock()
  }
}

/** One run per output at a time; a lock left by a process that died (kill -9) is taken over. */
async function lock(path: string): Promise<() => Promise<void>> {
  // The pid is written first and the lock appears by a hard link, which fails if it exists: another run never sees
  // a lock file that is still empty (and would take it for a stale one).
  const claim = `${path}.${randomUUID()}`
  await writeFile(claim, String(process.pid), { flag: 'wx' })
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(claim, path)
        return () => rm(path, { force: true })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        await takeOverIfStale(path)
      }
    }
  } finally {
    await rm(claim, { force: true })
  }
  throw new ReportError('LOCKED', `Could not lock ${path}; remove it if no run is active.`)
}

async function takeOverIfStale(path: string): Promise<void> {
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim())
  if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
    throw new ReportError(
      'LOCKED',
      `Another run (process ${owner}) is writing ${path.slice(0, -5)}; wait for it.`,
    )
  }
  await rm(path, { force: true })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
