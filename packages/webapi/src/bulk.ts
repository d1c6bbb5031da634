import {
  type BulkOperation,
  type BulkProgress,
  type BulkUnwrittenChunk,
  type BulkWrittenChunk,
  DataverseError,
  isDataverseError,
} from './errors.ts'
import type { RecordKey } from './filter.ts'
import { type ClientCore, callHeaders, urlParameters } from './internal/core.ts'
import { abortError } from './internal/governor.ts'
import { checkName, recordPath } from './internal/paths.ts'
import type { Row } from './row.ts'
import type { CallOptions, Impersonation } from './types.ts'

// Dataverse's bulk operation messages (Microsoft Learn, "Use bulk operation messages", "Optimize performance for
// bulk operations", and the Web API reference of CreateMultiple / UpdateMultiple / UpsertMultiple):
// - POST {set}/Microsoft.Dynamics.CRM.{Create|Update|Upsert}Multiple with {"Targets":[...]}; every target must carry
//   "@odata.type": "Microsoft.Dynamics.CRM.<logical name>".
// - CreateMultiple answers 200 {"Ids":[...]} in target order; UpdateMultiple and UpsertMultiple answer 204.
// - UpsertMultiple targets are named by "@odata.id" (an alternate key: "accounts(accountnumber='A-1')") or their
//   primary key; without either they are created.
// - On standard tables any error rolls the whole request back; elastic tables may partly succeed.
// - No fixed record limit, but message size and time limits: "1,000 records per request is a reasonable place to
//   start if the size of the record data is small and there are no plug-ins", make the number configurable, send
//   fewer when requests fail; elastic tables: 100 per request. Requests in parallel raise throughput.
// DeleteMultiple (Microsoft Learn, "Use DeleteMultiple"): POST {set}/Microsoft.Dynamics.CRM.DeleteMultiple with
// {"Targets":[...]}, each target an entity reference as a row: "@odata.type", the primary key column and, on a
// partitioned elastic table, "partitionid"; answers 204. Elastic tables only: on a standard table Dataverse answers
// "DeleteMultiple has not yet been implemented."

/**
 * The table of a bulk operation. Both names are needed: the request URL names the entity set (`accounts`) and every
 * row's `@odata.type` the logical name (`account`); the client does not guess one from the other.
 */
export interface BulkTable {
  entitySet: string
  logicalName: string
}

/** Rows for a bulk operation: an array, any iterable, or an async iterable (read one chunk at a time). */
export type BulkRows = Iterable<Row> | AsyncIterable<Row>

/** Microsoft's suggested start for standard tables (see above); use 100 for elastic tables. */
const DEFAULT_CHUNK_SIZE = 1000
/** DeleteMultiple exists only for elastic tables, whose suggested request size is 100. */
const ELASTIC_CHUNK_SIZE = 100

/** Options of the bulk operations. */
export interface BulkOptions extends CallOptions {
  /**
   * Rows per request. Default 1,000, Microsoft's suggested start for standard tables with small rows and no
   * plug-ins; lower it when requests time out or grow large (plug-ins, wide rows), use 100 for elastic tables.
   */
  chunkSize?: number | undefined
  /**
   * Keep sending the remaining chunks after one fails (every failure is then reported). Default false: stop reading
   * rows at the first failure (chunks already sent still finish).
   */
  continueOnError?: boolean | undefined
  /** Called after each chunk is written (in completion order), e.g. to save a checkpoint. */
  onChunk?: ((chunk: BulkWrittenChunk) => void) | undefined
}

export interface CreateMultipleOptions extends BulkOptions {
  /**
   * Retry a chunk after a 5xx or dropped connection. Default: the client's `retry.retryCreates` (false), as for
   * `create`: such a failure may come after Dataverse wrote the chunk, and sending it again would create every row of
   * it a second time. Opt in when every row carries an alternate key value (a repeat then fails on the duplicate
   * key; the chunk is reported as `uncertain`, not written twice). 429s are always retried: a throttled request
   * was not executed.
   */
  retryable?: boolean | undefined
}

export interface UpdateMultipleOptions extends BulkOptions {
  /**
   * The record a row updates, as a GUID or an alternate key (sent as the row's `@odata.id`). Without it each row
   * names its record itself: its primary key column (`accountid`) or its own `@odata.id`.
   */
  key?: ((row: Row) => RecordKey) | undefined
}

export interface UpsertMultipleOptions extends BulkOptions {
  /**
   * The record a row creates or updates, usually an alternate key (sent as the row's `@odata.id`). Without it a row
   * is matched by its primary key column, or created when it has none.
   */
  key?: ((row: Row) => RecordKey) | undefined
}

export interface DeleteMultipleOptions extends BulkOptions {
  /**
   * Rows per request. Default 100, Microsoft's suggested size for elastic tables (the only tables DeleteMultiple
   * serves).
   */
  chunkSize?: number | undefined
}

type Outcome = 'failed' | 'uncertain'

function outcomeOf(error: DataverseError): Outcome {
  if (error.code === 'INVALID_ARGUMENT' || error.code === 'TOKEN') return 'failed'
  const status = error.status
  if (status !== undefined && status >= 400 && status < 500 && (error.attempts ?? 1) <= 1) return 'failed'
  // Stryker disable next-line StringLiteral: anything but 'failed' lands in uncertain
  return 'uncertain'
}

/** The `Ids` of a CreateMultiple answer, or undefined when the text is no JSON object. */
function idsIn(text: string): unknown {
  try {
    return (JSON.parse(text) as { Ids?: unknown } | null)?.Ids
    // Stryker disable next-line BlockStatement: a function that returns nothing returns undefined
  } catch {
    return undefined
  }
}

function asError(e: unknown, operation: BulkOperation, path: string): DataverseError {
  if (isDataverseError(e)) return e
  return new DataverseError(
    'INVALID_ARGUMENT',
    `${operation}: reading the rows failed: ${String(e)}`.slice(0, 300),
    {
      method: 'POST',
      path,
      cause: e,
    },
  )
}

function open(rows: BulkRows): AsyncIterator<Row> | Iterator<Row> {
  if (rows !== null && typeof rows === 'object') {
    if (Symbol.asyncIterator in rows) return (rows as AsyncIterable<Row>)[Symbol.asyncIterator]()
    if (Symbol.iterator in rows) return (rows as Iterable<Row>)[Symbol.iterator]()
  }
  throw new DataverseError(
    'INVALID_ARGUMENT',
    'rows must be an array, an iterable or an async iterable of rows.',
  )
}

/**
 * Sends `rows` as `{operation}` requests of `chunkSize` rows, as many at once as the client's concurrency limiter
 * allows, reading the input one chunk ahead of what is in flight.
 */
export async function runBulk(
  core: ClientCore,
  impersonate: Impersonation | undefined,
  operation: BulkOperation,
  table: BulkTable,
  rows: BulkRows,
  options: BulkOptions & {
    retryable?: boolean | undefined
    key?: ((row: Row) => RecordKey) | undefined
  } = {},
): Promise<{ ids: string[]; count: number }> {
  if (table === null || typeof table !== 'object') {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `${operation} needs the table as { entitySet, logicalName }, e.g. { entitySet: 'accounts', logicalName: 'account' }.`,
    )
  }
  const entitySet = checkName(table.entitySet, 'Entity set')
  const type = `Microsoft.Dynamics.CRM.${checkName(table.logicalName, 'Logical name')}`
  const chunkSize =
    options.chunkSize ?? (operation === 'DeleteMultiple' ? ELASTIC_CHUNK_SIZE : DEFAULT_CHUNK_SIZE)
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new DataverseError('INVALID_ARGUMENT', `chunkSize must be a positive integer, got ${chunkSize}.`)
  }
  const path = `${entitySet}/Microsoft.Dynamics.CRM.${operation}`
  const headers = callHeaders(impersonate, options, { 'content-type': 'application/json; charset=utf-8' })
  const parameters = urlParameters(options)
  // Repeating an update, upsert or delete writes nothing new; a repeated delete of rows the first attempt removed
  // fails (the chunk is then reported as uncertain), never deletes anything else.
  const idempotent = operation === 'CreateMultiple' ? (options.retryable ?? core.retryCreates) : true
  const keyOf = operation === 'CreateMultiple' || operation === 'DeleteMultiple' ? undefined : options.key
  const signal = options.signal
  const iterator = open(rows)

  const target = (row: Row, position: number): Row => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        `Row ${position} of ${operation} is not an object; pass each row as a JSON object.`,
      )
    }
    const out: Row = { ...row }
    if (out['@odata.type'] === undefined) out['@odata.type'] = type
    if (keyOf) out['@odata.id'] = recordPath(entitySet, keyOf(row))
    return out
  }

  const ids: string[] = []
  const written: BulkWrittenChunk[] = []
  const failed: BulkUnwrittenChunk[] = []
  const uncertain: BulkUnwrittenChunk[] = []
  let firstError: DataverseError | undefined
  let stopped = false
  const stop = (error: DataverseError) => {
    firstError ??= error
    stopped = true
  }
  const unwritten = (start: number, chunk: Row[], error: DataverseError, outcome: Outcome) => {
    ;(outcome === 'failed' ? failed : uncertain).push({ start, count: chunk.length, rows: chunk, error })
    stop(error)
  }

  const sendChunk = async (start: number, chunk: Row[], targets: Row[]): Promise<void> => {
    let chunkIds: string[] | undefined
    try {
      const result = await core.send({
        method: 'POST',
        path,
        parameters,
        headers,
        body: JSON.stringify({ Targets: targets }),
        idempotent,
        signal,
        timeoutMs: options.timeoutMs,
        retry: options.retry,
      })
      if (operation === 'CreateMultiple') {
        const got = idsIn(result.text)
        if (
          !Array.isArray(got) ||
          got.length !== chunk.length ||
          !got.every((id) => typeof id === 'string')
        ) {
          throw new DataverseError(
            'INVALID_RESPONSE',
            `POST ${path} succeeded but did not return one id per row in 'Ids'.`,
            { status: result.status, method: 'POST', path },
          )
        }
        chunkIds = got as string[]
      }
    } catch (e) {
      const error = asError(e, operation, path)
      // an answer without the ids (INVALID_RESPONSE, status 2xx) is uncertain by outcomeOf's own rule
      unwritten(start, chunk, error, outcomeOf(error))
      return
    }
    const done: BulkWrittenChunk = { start, count: chunk.length }
    if (chunkIds) {
      done.ids = chunkIds
      for (let i = 0; i < chunkIds.length; i++) ids[start + i] = chunkIds[i] as string
    }
    written.push(done)
    try {
      options.onChunk?.(done)
    } catch (e) {
      stop(asError(e, operation, path))
    }
  }

  const inflight = new Set<Promise<void>>()
  // Called when a chunk settles: wakes the reader waiting for a free place in the window. (Waiting on a promise
  // rather than racing the settled set means a chunk that was never taken out leaves the reader waiting, which a
  // deadline catches, instead of spinning on microtasks, which nothing can interrupt.)
  let wake: (() => void) | undefined
  // Read ahead no further than the limiter lets requests run, so a large input is never held in memory.
  const window = () => Math.max(1, core.config.governor.limit)
  let consumed = 0
  let exhausted = false
  try {
    for (;;) {
      while (inflight.size >= window())
        await new Promise<void>((resolve) => {
          wake = resolve
        })
      if (stopped && !options.continueOnError) break
      if (signal?.aborted) {
        stop(abortError(signal, 'POST', path))
        break
      }
      const chunk: Row[] = []
      let sourceError: unknown
      let sourceFailed = false
      try {
        while (chunk.length < chunkSize) {
          const next = await iterator.next()
          if (next.done) {
            exhausted = true
            break
          }
          chunk.push(next.value)
        }
      } catch (e) {
        sourceFailed = true
        sourceError = e
        exhausted = true // an iterator that threw is finished
      }
      const start = consumed
      consumed += chunk.length
      if (sourceFailed) {
        const error = asError(sourceError, operation, path)
        if (chunk.length > 0) unwritten(start, chunk, error, 'failed')
        else stop(error)
        break
      }
      if (chunk.length === 0) break
      let targets: Row[]
      try {
        targets = chunk.map((row, i) => target(row, start + i))
      } catch (e) {
        unwritten(start, chunk, asError(e, operation, path), 'failed')
        // Stryker disable next-line ConditionalExpression: going round once more reads nothing from an exhausted input and stops
        if (exhausted) break
        continue
      }
      const sent: Promise<void> = sendChunk(start, chunk, targets).finally(() => {
        inflight.delete(sent)
        wake?.()
      })
      inflight.add(sent)
      // Stryker disable next-line ConditionalExpression: going round once more reads nothing from an exhausted input and stops
      if (exhausted) break
    }
    await Promise.all(inflight)
  } finally {
    // like leaving a for-of early: let a generator given as input clean up
    // Stryker disable next-line ConditionalExpression: return() on an exhausted iterator does nothing
    if (!exhausted) await iterator.return?.()
  }

  if (firstError === undefined) return { ids, count: consumed }
  const byStart = (a: { start: number }, b: { start: number }) => a.start - b.start
  const progress: BulkProgress = {
    operation,
    entitySet,
    written: written.sort(byStart),
    failed: failed.sort(byStart),
    uncertain: uncertain.sort(byStart),
    consumed,
  }
  const count = (list: { count: number }[]) => list.reduce((n, c) => n + c.count, 0)
  throw new DataverseError(
    'BULK_INCOMPLETE',
    `${operation} on ${entitySet} stopped: of ${consumed} rows read, ${count(written)} were written, ${count(failed)} were not and ${count(uncertain)} may have been${exhausted ? '' : `; rows from position ${consumed} on were not read`}. First failure: ${firstError.message} See error.bulk to resend what was not written.`,
    {
      bulk: progress,
      cause: firstError,
      status: firstError.status,
      serviceCode: firstError.serviceCode,
      requestId: firstError.requestId,
      method: 'POST',
      path,
    },
  )
}
