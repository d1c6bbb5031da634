import { DataverseError, errorFromResponse } from './errors.ts'
import type { RecordKey } from './filter.ts'
import { type ClientCore, callHeaders, prefer, propertyValue } from './internal/core.ts'
import { countsRecords } from './internal/fetchxml.ts'
import { checkName, encodeQueryValue, idFromEntityId, propertyPath, recordPath } from './internal/paths.ts'
import { readXmlRoot } from './internal/xml.ts'
import {
  type AnnotationOptions,
  annotationPreference,
  buildQueryString,
  fetchXmlAnnotations,
  type QueryOptions,
} from './query.ts'
import type { Row } from './row.ts'
import type { CallOptions, Impersonation } from './types.ts'

/** Options of `client.batch()`. */
export interface BatchOptions extends Pick<CallOptions, 'signal' | 'timeoutMs' | 'impersonate'> {
  /** `Prefer: odata.continue-on-error`: run every operation even after a failure. Default false. */
  continueOnError?: boolean
}

/** A reference to a record created earlier in the same change set (`$<Content-ID>`), usable as a key or bind. */
export interface BatchRef {
  readonly contentId: string
  /** `$1`: pass it as a key (`cs.update('accounts', ref.ref, ...)`) or in `@odata.bind`. */
  readonly ref: string
}

/** Result of one batch operation: never thrown, one per operation in the order they were added. */
export type BatchResult<T = unknown> =
  | {
      ok: true
      /** Position of the operation in the batch. */
      index: number
      status: number
      /** Id from `OData-EntityId`: creates, and upserts of a row named by its id (one named by its alternate key has none). */
      id?: string
      /** Parsed JSON body, if any. */
      body?: T
      header(name: string): string | undefined
    }
  | { ok: false; index: number; error: DataverseError }

interface Operation {
  index: number
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  path: string
  query: string
  body: string | undefined
  headers: Record<string, string>
  contentId?: string
}

/** Operations that can be added to a batch or a change set. */
export interface BatchWriter {
  /** Adds a create; returns a reference usable later in the same change set. */
  create(entitySet: string, data: Row): BatchRef
  update(entitySet: string, key: RecordKey, data: Row, options?: { ifMatch?: string }): BatchRef
  upsert(entitySet: string, key: RecordKey, data: Row): BatchRef
  delete(entitySet: string, key: RecordKey, options?: { ifMatch?: string }): BatchRef
  /**
   * Sets one column: `PUT accounts(<id>)/name` with `{ "value": … }` (Microsoft Learn: Update and delete table rows
   * using the Web API, Update a single property value). `key` may be a `BatchRef.ref` of the same change set (`$1`).
   */
  setProperty(entitySet: string, key: RecordKey, property: string, value: unknown): BatchRef
  /** Clears one column: `DELETE accounts(<id>)/description` (Learn: Delete a single property value). */
  clearProperty(entitySet: string, key: RecordKey, property: string): BatchRef
  /**
   * Adds a reference to `target` (a record or a `BatchRef.ref` of the same change set): `POST …/$ref` for a
   * collection-valued navigation property, `PUT …/$ref` with `single: true` for a single-valued one.
   */
  associate(
    entitySet: string,
    key: RecordKey,
    navigationProperty: string,
    target: { entitySet: string; key: RecordKey },
    options?: { single?: boolean },
  ): BatchRef
  /** An action (POST). */
  action(name: string, body?: Row): BatchRef
}

/** The operations of one change set of a batch: they all succeed or none is applied. */
export type ChangeSet = BatchWriter

/** An explicit `$batch`: add operations, then `execute()` once. No state is shared with other batches. */
export interface Batch extends BatchWriter {
  /** Adds a read (GET), only allowed outside change sets. */
  retrieve(entitySet: string, key: RecordKey, options?: Pick<QueryOptions, 'select' | 'expand'>): BatchRef
  /** Adds a query (one page, GET). Long FetchXML fits here: inner URLs may be up to 64 KB. */
  query(entitySet: string, options?: QueryOptions & AnnotationOptions & { fetchXml?: string }): BatchRef
  /** Adds an atomic change set: all of its operations succeed or none does. */
  changeSet(build: (changeSet: ChangeSet) => void): void
  /** Number of operations added. */
  readonly size: number
  /**
   * Sends the batch. Resolves to one result per operation; rejects only when the batch as a whole could not be
   * sent or understood (token, network, 401/403 on the batch itself).
   * @throws {DataverseError} for failures of the whole batch, never an array.
   */
  execute<T = unknown>(): Promise<BatchResult<T>[]>
}

const CRLF = '\r\n'

function boundary(prefix: string): string {
  const bytes = new Uint8Array(12)
  crypto.getRandomValues(bytes)
  return `${prefix}_${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

export function createBatch(
  core: ClientCore,
  impersonate: Impersonation | undefined,
  options: BatchOptions = {},
): Batch {
  const groups: (Operation | Operation[])[] = []
  let count = 0
  let nextContentId = 1
  let executed = false
  const apiPath = new URL(core.config.baseUrl).pathname

  const check = () => {
    if (executed)
      throw new DataverseError('INVALID_ARGUMENT', 'This batch was already executed; create a new one.')
    if (count >= 1000) throw new DataverseError('INVALID_ARGUMENT', 'A batch holds at most 1,000 operations.')
  }

  const writer = (add: (op: Operation) => BatchRef): BatchWriter => {
    const json = { 'content-type': 'application/json; type=entry' }
    const op = (
      method: Operation['method'],
      path: string,
      body: unknown,
      headers: Record<string, string> = {},
    ): BatchRef =>
      add({
        index: 0, // set when the operation is added
        method,
        path,
        query: '',
        // Stryker disable next-line ConditionalExpression: JSON.stringify(undefined) is undefined too; the test keeps the types honest
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? headers : { ...json, ...headers },
      })
    return {
      create: (entitySet, data) => op('POST', checkName(entitySet, 'Entity set'), data),
      update: (entitySet, key, data, o) =>
        op('PATCH', recordPath(entitySet, key), data, { 'if-match': o?.ifMatch ?? '*' }),
      upsert: (entitySet, key, data) => op('PATCH', recordPath(entitySet, key), data),
      delete: (entitySet, key, o) =>
        op('DELETE', recordPath(entitySet, key), undefined, o?.ifMatch ? { 'if-match': o.ifMatch } : {}),
      // A property's value is no entity, so its body goes without `type=entry`.
      setProperty: (entitySet, key, property, value) =>
        op('PUT', propertyPath(entitySet, key, property), propertyValue(value), {
          'content-type': 'application/json',
        }),
      clearProperty: (entitySet, key, property) =>
        op('DELETE', propertyPath(entitySet, key, property), undefined),
      associate: (entitySet, key, nav, target, o) =>
        op(
          o?.single ? 'PUT' : 'POST',
          `${recordPath(entitySet, key)}/${checkName(nav, 'Navigation property')}/$ref`,
          {
            '@odata.id':
              typeof target.key === 'string' && target.key.startsWith('$')
                ? target.key
                : core.config.baseUrl + recordPath(target.entitySet, target.key),
          },
        ),
      action: (name, body) => op('POST', checkName(name, 'Action'), body ?? {}),
    }
  }

  const top = writer((o) => {
    check()
    o.index = count++
    groups.push(o)
    return { contentId: '', ref: '' }
  })

  const batch: Batch = {
    ...top,
    get size() {
      return count
    },
    retrieve(entitySet, key, o) {
      check()
      const op: Operation = {
        index: count++,
        method: 'GET',
        path: recordPath(entitySet, key),
        query: buildQueryString(o ?? {}),
        body: undefined,
        headers: {},
      }
      groups.push(op)
      return { contentId: '', ref: '' }
    },
    query(entitySet, o) {
      check()
      const { fetchXml, ...rest } = o ?? {}
      const op: Operation = {
        index: count++,
        method: 'GET',
        path: checkName(entitySet, 'Entity set'),
        query:
          fetchXml === undefined
            ? buildQueryString(rest)
            : `?fetchXml=${encodeQueryValue(fetchXml, 'fetchXml')}`,
        body: undefined,
        headers: prefer(
          fetchXml === undefined
            ? annotationPreference(rest)
            : annotationPreference(rest, fetchXmlAnnotations(countsRecords(readXmlRoot(fetchXml)))),
        ),
      }
      groups.push(op)
      return { contentId: '', ref: '' }
    },
    changeSet(build) {
      check()
      const ops: Operation[] = []
      build(
        writer((o) => {
          check()
          o.index = count++
          o.contentId = String(nextContentId++)
          ops.push(o)
          return { contentId: o.contentId, ref: `$${o.contentId}` }
        }),
      )
      if (ops.length) groups.push(ops)
    },
    async execute<T>() {
      check()
      executed = true
      if (count === 0) return []
      const batchBoundary = boundary('batch')
      const lines: string[] = []
      const writeOp = (op: Operation) => {
        lines.push('Content-Type: application/http', 'Content-Transfer-Encoding: binary')
        if (op.contentId) lines.push(`Content-ID: ${op.contentId}`)
        lines.push('')
        const target = op.path.startsWith('$') ? op.path : apiPath + op.path + op.query
        lines.push(`${op.method} ${target} HTTP/1.1`)
        if (op.method === 'GET') lines.push('Accept: application/json')
        for (const [k, v] of Object.entries(op.headers)) lines.push(`${k}: ${v}`)
        lines.push('')
        // The embedded request's header block ends with an empty line; the line break before the next boundary
        // belongs to the boundary (RFC 2046 §5.1.1), so a part without a body needs one more (Microsoft Learn:
        // Execute batch operations using the Web API, the GET and DELETE examples).
        lines.push(op.body ?? '')
      }
      for (const group of groups) {
        lines.push(`--${batchBoundary}`)
        if (Array.isArray(group)) {
          const csBoundary = boundary('changeset')
          lines.push(`Content-Type: multipart/mixed; boundary=${csBoundary}`, '')
          for (const op of group) {
            lines.push(`--${csBoundary}`)
            writeOp(op)
          }
          lines.push(`--${csBoundary}--`)
        } else {
          writeOp(group)
        }
      }
      lines.push(`--${batchBoundary}--`, '')
      const onlyOneChangeSet = groups.length === 1 && Array.isArray(groups[0])
      const allSafe = groups.flat().every((op) => op.method !== 'POST')
      const result = await core.send({
        method: 'POST',
        path: '$batch',
        headers: callHeaders(impersonate, options, {
          'content-type': `multipart/mixed; boundary=${batchBoundary}`,
          ...(options.continueOnError ? { prefer: 'odata.continue-on-error' } : {}),
        }),
        body: lines.join(CRLF),
        // An atomic batch (one change set) or one of safe operations can be repeated; others could run twice.
        idempotent: onlyOneChangeSet || allSafe,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
        acceptError: (status, header) =>
          // Stryker disable next-line StringLiteral: a missing Content-Type is not multipart/mixed whatever text stands in
          status < 500 && /multipart\/mixed/i.test(header('content-type') ?? ''),
      })
      // Stryker disable next-line StringLiteral: a missing Content-Type names no boundary whatever text stands in
      const contentType = result.header('content-type') ?? ''
      const responseBoundary = boundaryOf(contentType)
      if (!responseBoundary) {
        throw new DataverseError('INVALID_RESPONSE', 'POST $batch: the response is not multipart/mixed.', {
          status: result.status,
          method: 'POST',
          path: '$batch',
        })
      }
      return mapResults<T>(groups, parseMultipart(result.text, responseBoundary))
    },
  }
  return batch
}

interface PartResponse {
  contentId: string | undefined
  status: number
  headers: Map<string, string>
  body: string
}

/** Either a response, or a nested change-set response (list). */
type ResponseItem = PartResponse | PartResponse[]

function boundaryOf(contentType: string): string | undefined {
  // the parameter named boundary, not one whose name only ends in it (xboundary=…)
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return match ? (match[1] ?? match[2]) : undefined
}

function splitHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>()
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    // Stryker disable next-line EqualityOperator: a header with an empty name is never looked up
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return headers
}

function splitOnce(text: string): [string, string] {
  const match = /\r?\n\r?\n/.exec(text)
  // Stryker disable next-line StringLiteral: without an empty line there is no status line either, whatever follows
  if (!match) return [text, '']
  return [text.slice(0, match.index), text.slice(match.index + match[0].length)]
}

export function parseMultipart(text: string, partBoundary: string): ResponseItem[] {
  const items: ResponseItem[] = []
  const delimiter = `--${partBoundary}`
  const chunks = text.split(delimiter)
  // chunks[0] is the preamble; the chunk starting with "--" is the epilogue.
  for (const raw of chunks.slice(1)) {
    if (raw.startsWith('--')) break
    const chunk = raw.replace(/^\r?\n/, '').replace(/\r?\n$/, '')
    const [headerBlock, rest] = splitOnce(chunk)
    const partHeaders = splitHeaders(headerBlock)
    // Stryker disable next-line StringLiteral: a part without Content-Type is no change set whatever text stands in
    const type = partHeaders.get('content-type') ?? ''
    if (/^\s*multipart\/mixed/i.test(type) && boundaryOf(type)) {
      const nested = boundaryOf(type) as string
      items.push(parseMultipart(rest, nested).flat())
      continue
    }
    const [head, body] = splitOnce(rest)
    // Stryker disable next-line StringLiteral: split always yields a first element; the default only satisfies the types
    const [statusLine = '', ...headerLines] = head.split(/\r?\n/)
    const status = Number(/^HTTP\/\d\.\d\s+(\d{3})/.exec(statusLine)?.[1] ?? 0)
    const headers = splitHeaders(headerLines.join('\n'))
    items.push({
      contentId: partHeaders.get('content-id') ?? headers.get('content-id'),
      status,
      headers,
      body: body.replace(/\r?\n$/, ''),
    })
  }
  return items
}

function toResult<T>(op: Operation, part: PartResponse): BatchResult<T> {
  const header = (name: string) => part.headers.get(name.toLowerCase())
  const path = op.path
  if (part.status >= 400 || part.status === 0) {
    return {
      ok: false,
      index: op.index,
      error: errorFromResponse(part.status, part.body, header, { method: op.method, path }),
    }
  }
  const result: BatchResult<T> = { ok: true, index: op.index, status: part.status, header }
  const id = idFromEntityId(header('odata-entityid') ?? header('location'))
  if (id) result.id = id
  if (part.body.trim()) {
    try {
      result.body = JSON.parse(part.body) as T
    } catch {
      result.body = part.body as T
    }
  }
  return result
}

function mapResults<T>(groups: (Operation | Operation[])[], items: ResponseItem[]): BatchResult<T>[] {
  const results: BatchResult<T>[] = []
  let cursor = 0
  let stopped: DataverseError | undefined
  const notExecuted = (op: Operation): BatchResult<T> => ({
    ok: false,
    index: op.index,
    error: new DataverseError(
      'BATCH_NOT_EXECUTED',
      `${op.method} ${op.path} was not executed: the batch stopped at an earlier failure (use continueOnError to run every operation).`,
      { method: op.method, path: op.path, cause: stopped },
    ),
  })
  for (const group of groups) {
    const item = items[cursor++]
    if (!Array.isArray(group)) {
      if (!item || Array.isArray(item)) {
        results.push(notExecuted(group))
        continue
      }
      const result = toResult<T>(group, item)
      // Stryker disable next-line ConditionalExpression: a success carries no error, so ??= leaves stopped as it was
      if (!result.ok) stopped ??= result.error
      results.push(result)
      continue
    }
    if (!item) {
      for (const op of group) results.push(notExecuted(op))
      continue
    }
    const parts = Array.isArray(item) ? item : [item]
    const failure = parts.find((p) => p.status >= 400)
    if (!failure && parts.length >= group.length) {
      group.forEach((op, i) => {
        const part = parts.find((p) => p.contentId === op.contentId) ?? (parts[i] as PartResponse)
        results.push(toResult<T>(op, part))
      })
      continue
    }
    if (!failure) {
      // Fewer parts than operations and none failed: a truncated answer. Whether the change set was applied is not
      // known, so no operation is reported done.
      const error = new DataverseError(
        'INVALID_RESPONSE',
        `POST $batch: a change set of ${group.length} operations was answered with ${parts.length} parts and no failure; whether it was applied is unknown.`,
        { method: 'POST', path: '$batch' },
      )
      stopped ??= error
      for (const op of group) results.push({ ok: false, index: op.index, error })
      continue
    }
    // The change set was rolled back: the failing operation gets its own error, the others BATCH_ROLLED_BACK.
    const failed = failure
    // Stryker disable next-line ConditionalExpression: operations of a change set always have a Content-ID
    const culprit = group.find((op) => op.contentId !== undefined && op.contentId === failed.contentId)
    const failedResult = culprit ? toResult<T>(culprit, failed) : undefined
    const cause =
      failedResult && !failedResult.ok
        ? failedResult.error
        : errorFromResponse(failed.status, failed.body, (n) => failed.headers.get(n), {
            method: 'POST',
            path: '$batch',
          })
    stopped ??= cause
    for (const op of group) {
      if (op === culprit && failedResult) {
        results.push(failedResult)
        continue
      }
      results.push({
        ok: false,
        index: op.index,
        error: new DataverseError(
          'BATCH_ROLLED_BACK',
          `${op.method} ${op.path} was rolled back because another operation of its change set failed: ${cause.message}`,
          { method: op.method, path: op.path, cause },
        ),
      })
    }
  }
  return results
}
