import type { Row } from './row.ts'

// The bulk progress types live here, not in bulk.ts: a DataverseError carries a BulkProgress whose chunks carry
// DataverseErrors, and errors.ts is the bottom of the package (every module imports it), so it imports nothing back.
/** A bulk message of Dataverse. */
export type BulkOperation = 'CreateMultiple' | 'UpdateMultiple' | 'UpsertMultiple' | 'DeleteMultiple'

/** Rows written by one request: input positions `start` to `start + count - 1`. */
export interface BulkWrittenChunk {
  /** Position of the chunk's first row in the input (0-based). */
  start: number
  count: number
  /** `createMultiple`: the new ids, in row order. */
  ids?: string[]
}

/** Rows of one request that was not written, or may have been. */
export interface BulkUnwrittenChunk {
  /** Position of the chunk's first row in the input (0-based). */
  start: number
  count: number
  /** The rows as given (without the `@odata.type` the client adds). */
  rows: Row[]
  error: DataverseError
}

/** What a bulk operation that stopped had done: every row read is in exactly one of the three lists. */
export interface BulkProgress {
  operation: BulkOperation
  entitySet: string
  /** Chunks written (Dataverse answered success), by input position. */
  written: BulkWrittenChunk[]
  /**
   * Chunks not written: Dataverse refused them (a 4xx on the only attempt: standard tables roll the whole request
   * back) or they were never sent. Fix and send their rows again.
   */
  failed: BulkUnwrittenChunk[]
  /**
   * Chunks that may have been written: the connection failed, timed out or was aborted, the server answered 5xx, or
   * a retry followed such a failure. Updates and upserts may simply be sent again; check created rows (e.g. by
   * alternate key) before creating them again.
   */
  uncertain: BulkUnwrittenChunk[]
  /** Rows read from the input. Rows from this position on were never read nor sent: continue from here. */
  consumed: number
}

/**
 * What went wrong, as a closed union so that `switch (error.code)` narrows.
 * - `BAD_REQUEST` (400), `UNAUTHORIZED` (401), `FORBIDDEN` (403), `NOT_FOUND` (404),
 *   `PRECONDITION_FAILED` (412), `THROTTLED` (429 beyond the retry budget), `SERVER` (5xx), `HTTP` (other status)
 * - `NETWORK` (connection failed or dropped), `TIMEOUT` (per-request timeout), `ABORTED` (the caller's signal)
 * - `TOKEN` (`getToken` threw or returned nothing), `INVALID_ARGUMENT` (bad input, nothing was sent),
 *   `INVALID_RESPONSE` (the server answered something unparseable)
 * - `BATCH_ROLLED_BACK` (another operation of the same change set failed), `BATCH_NOT_EXECUTED` (the batch
 *   stopped before this operation)
 * - `CHANGE_TRACKING_DISABLED` (`changes()` on a table without Track changes), `CHANGE_TOKEN_EXPIRED` (`changes()`
 *   with a token Dataverse no longer accepts: sync the whole table again, without a token)
 * - `BULK_INCOMPLETE` (a `createMultiple` / `updateMultiple` / `upsertMultiple` / `deleteMultiple` did not write every row: `bulk` says
 *   which rows were written, which were not, and which may have been)
 */
export type DataverseErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'PRECONDITION_FAILED'
  | 'THROTTLED'
  | 'SERVER'
  | 'HTTP'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'TOKEN'
  | 'INVALID_ARGUMENT'
  | 'INVALID_RESPONSE'
  | 'BATCH_ROLLED_BACK'
  | 'BATCH_NOT_EXECUTED'
  | 'BULK_INCOMPLETE'
  | 'CHANGE_TRACKING_DISABLED'
  | 'CHANGE_TOKEN_EXPIRED'

/** Details kept on a {@link DataverseError}. None of them ever holds a token. */
export interface DataverseErrorDetails {
  /** HTTP status, when the server answered. */
  status?: number | undefined
  /** Dataverse's own hex error code, e.g. `0x80040217` (ObjectDoesNotExist). */
  serviceCode?: string | undefined
  /** `x-ms-service-request-id` (or `REQ_ID`) of the failed response: quote it to Microsoft support. */
  requestId?: string | undefined
  /** How long the server asked to wait (`Retry-After`), in milliseconds. */
  retryAfterMs?: number | undefined
  /** HTTP method of the request. */
  method?: string | undefined
  /** Path of the request relative to the org, without the query string (which may hold data). */
  path?: string | undefined
  /** Number of attempts made, retries included. */
  attempts?: number | undefined
  /** The parsed OData error body (`error` member), annotations included. */
  body?: unknown
  /** With `BULK_INCOMPLETE`: what the bulk operation wrote and what it did not. */
  bulk?: BulkProgress | undefined
  cause?: unknown
}

const TRANSIENT_STATUS = new Set([429, 502, 503, 504])

/**
 * The one error class of `@dataverse-s2s/webapi`.
 * @example
 * try { await client.retrieve('accounts', id) } catch (e) {
 *   if (isDataverseError(e) && e.code === 'NOT_FOUND') return null
 *   throw e
 * }
 */
export class DataverseError extends Error {
  override name = 'DataverseError'
  readonly code: DataverseErrorCode
  readonly status: number | undefined
  readonly serviceCode: string | undefined
  readonly requestId: string | undefined
  readonly retryAfterMs: number | undefined
  readonly method: string | undefined
  readonly path: string | undefined
  readonly attempts: number | undefined
  readonly body: unknown
  /** With `BULK_INCOMPLETE`: which rows were written, which were not and which may have been; see {@link BulkProgress}. */
  readonly bulk: BulkProgress | undefined

  constructor(code: DataverseErrorCode, message: string, details: DataverseErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.status = details.status
    this.serviceCode = details.serviceCode
    this.requestId = details.requestId
    this.retryAfterMs = details.retryAfterMs
    this.method = details.method
    this.path = details.path
    this.attempts = details.attempts
    this.body = details.body
    this.bulk = details.bulk
  }

  /** Whether repeating the same request later may succeed (429, 502, 503, 504, network errors, timeouts). */
  get isTransient(): boolean {
    if (this.code === 'NETWORK' || this.code === 'TIMEOUT' || this.code === 'THROTTLED') return true
    return this.status !== undefined && TRANSIENT_STATUS.has(this.status)
  }

  /** Whether this is a service-protection limit (429). */
  get isThrottle(): boolean {
    return this.status === 429 || this.code === 'THROTTLED'
  }
}

/**
 * Type guard that also works across bundles and realms (checks the shape, not the prototype).
 * @example
 * try {
 *   await client.update('accounts', id, { name: 'Fourth Coffee' })
 * } catch (error) {
 *   if (isDataverseError(error) && error.isThrottle) console.warn(`throttled, retry after ${error.retryAfterMs} ms`)
 *   throw error
 * }
 */
export function isDataverseError(value: unknown): value is DataverseError {
  return (
    value instanceof DataverseError ||
    (value instanceof Error &&
      value.name === 'DataverseError' &&
      typeof (value as { code?: unknown }).code === 'string')
  )
}

export function codeForStatus(status: number): DataverseErrorCode {
  switch (status) {
    case 400:
      return 'BAD_REQUEST'
    case 401:
      return 'UNAUTHORIZED'
    case 403:
      return 'FORBIDDEN'
    case 404:
      return 'NOT_FOUND'
    case 412:
      return 'PRECONDITION_FAILED'
    case 429:
      return 'THROTTLED'
    default:
      return status >= 500 ? 'SERVER' : 'HTTP'
  }
}

interface ODataErrorBody {
  error?: { code?: unknown; message?: unknown }
}

/** Builds the error for a non-success response from its status, headers and body text. */
export function errorFromResponse(
  status: number,
  bodyText: string,
  header: (name: string) => string | undefined,
  context: { method: string; path: string; attempts?: number },
): DataverseError {
  let parsed: ODataErrorBody | undefined
  try {
    parsed = bodyText ? (JSON.parse(bodyText) as ODataErrorBody) : undefined
  } catch {
    parsed = undefined
  }
  const odataError = parsed && typeof parsed === 'object' ? parsed.error : undefined
  const serviceCode =
    typeof odataError?.code === 'string' && odataError.code !== '' ? odataError.code : undefined
  const serverMessage = typeof odataError?.message === 'string' ? odataError.message : undefined
  const retryAfterMs = parseRetryAfter(header('retry-after'))
  const requestId = header('x-ms-service-request-id') ?? header('req_id')
  const summary = serverMessage ?? (bodyText && !parsed ? bodyText.slice(0, 200) : `HTTP ${status}`)
  const hint = hintFor(status, serviceCode)
  const message = `${context.method} ${context.path} failed with ${status}${serviceCode ? ` (${serviceCode})` : ''}: ${summary}${hint ? ` ${hint}` : ''}`
  return new DataverseError(codeForStatus(status), message, {
    status,
    serviceCode,
    requestId,
    retryAfterMs,
    method: context.method,
    path: context.path,
    attempts: context.attempts,
    body: odataError,
  })
}

function hintFor(status: number, serviceCode: string | undefined): string | undefined {
  if (serviceCode === '0x80072560')
    return 'The application user is missing or disabled in this org: create it (ensureApplicationUser) or enable it.'
  if (serviceCode === '0x80040220')
    return "Give the application user's security role the missing privilege named above."
  if (status === 401) return 'Check that the token was issued for this org URL and has not expired.'
  if (status === 429)
    return 'Service-protection limit reached; the retry budget ran out before Retry-After elapsed.'
  return undefined
}

/** `Retry-After` in seconds (or an HTTP date) to milliseconds. */
export function parseRetryAfter(value: string | undefined | null): number | undefined {
  if (value == null || value === '') return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - Date.now())
}
