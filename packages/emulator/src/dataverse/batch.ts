import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { DataverseFault, Fault } from './errors.ts'
import type { OrgCore } from './org-core.ts'
import type { ApiRequest, ApiResponse, CallContext } from './request.ts'

/** Dataverse's limit on requests in one `$batch` (Dataverse docs, "Execute batch operations using the Web API"). */
export const MAX_BATCH_REQUESTS = 1000

interface Part {
  headers: Headers
  body: string
}

export interface BatchRequest {
  method: string
  target: string
  headers: Headers
  body: string | undefined
  contentId?: string
}

export type BatchItem =
  | { kind: 'request'; request: BatchRequest }
  | { kind: 'changeset'; requests: BatchRequest[] }

export function boundaryOf(contentType: string | null): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\s*;/i.test(contentType)) return undefined
  // the parameter named boundary, not one whose name only ends in it (xboundary=…)
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
}

function splitParts(body: string, boundary: string): Part[] {
  const delimiter = `--${boundary}`
  const pieces = body.split(delimiter)
  const parts: Part[] = []
  let closed = false
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i] as string
    if (piece.startsWith('--')) {
      closed = true
      break
    }
    // The rest of the delimiter line (transport padding) reads as a blank header line, which parseHeaders skips.
    const sep = /\r?\n\r?\n/.exec(piece)
    const headText = sep ? piece.slice(0, sep.index) : piece
    const rest = sep ? piece.slice(sep.index + sep[0].length) : ''
    // The content keeps the line break before the next delimiter: an embedded request may use it as the empty
    // line that ends its headers (parseHttp).
    parts.push({ headers: parseHeaders(headText), body: rest })
  }
  if (!closed) throw Fault.syntax(`The batch body has no closing delimiter '--${boundary}--'.`)
  return parts
}

function parseHeaders(text: string): Headers {
  const headers = new Headers()
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const colon = line.indexOf(':')
    // Stryker disable next-line EqualityOperator: a line starting with ':' has an empty name, which Headers refuses below with the same fault
    if (colon <= 0) throw Fault.syntax(`The batch part header line '${line.slice(0, 80)}' is not valid.`)
    try {
      // Headers trims the value's surrounding whitespace itself.
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1))
    } catch {
      throw Fault.syntax(`The batch part header line '${line.slice(0, 80)}' is not valid.`)
    }
  }
  return headers
}

/** The methods an embedded request may use (OData's batch reader refuses every other). */
const BATCH_METHODS = new Set(['GET', 'POST', 'PATCH', 'PUT', 'DELETE'])

/**
 * `METHOD target HTTP/1.1`, split at the first and the last space as Microsoft's OData batch reader does: the version
 * must be exactly `HTTP/1.1` (no other version, none missing, nothing after it) and the method one of
 * {@link BATCH_METHODS}, in capitals. Every request line in Microsoft Learn's `$batch` examples has this form.
 */
function readRequestLine(line: string): { method: string; target: string } {
  const quoted = line.slice(0, 100)
  const first = line.indexOf(' ')
  const last = line.lastIndexOf(' ')
  if (first <= 0 || last - first <= 1 || last === line.length - 1) {
    throw Fault.syntax(
      `The batch request line '${quoted}' is not valid: each operation starts with 'Method RequestUrl HTTP/1.1'.`,
    )
  }
  const version = line.slice(last + 1)
  if (version !== 'HTTP/1.1') {
    throw Fault.syntax(
      `The HTTP version '${version.slice(0, 40)}' of the batch request line '${quoted}' is not valid: it must be 'HTTP/1.1'.`,
    )
  }
  const method = line.slice(0, first)
  if (!BATCH_METHODS.has(method)) {
    throw Fault.syntax(
      `The batch request line '${quoted}' has the method '${method.slice(0, 20)}': use GET, POST, PATCH, PUT or DELETE.`,
    )
  }
  return { method, target: line.slice(first + 1, last) }
}

function parseHttp(part: Part): BatchRequest {
  // Stryker disable next-line StringLiteral: a missing Content-Type fails the test below whatever text stands in
  const type = part.headers.get('content-type') ?? ''
  if (!/^application\/http/i.test(type))
    throw Fault.syntax('Each batch part must have Content-Type: application/http.')
  const text = part.body.replace(/^\s*\r?\n/, '')
  const lineEnd = /\r?\n/.exec(text)
  const requestLine = lineEnd ? text.slice(0, lineEnd.index) : text
  const { method, target } = readRequestLine(requestLine)
  // Stryker disable next-line StringLiteral: with no line break after the request line no text holds an empty line, whatever stands in
  const after = lineEnd ? text.slice(lineEnd.index + lineEnd[0].length) : ''
  const sep = /(^|\r?\n)\r?\n/.exec(after)
  // The embedded request's header block ends with an empty line, also when no body follows. Microsoft Learn writes
  // one blank line before the next delimiter ("Query data using FetchXml", FetchXML within a batch request) or two
  // ("Execute batch operations using the Web API"): both hold one. Headers that run into the delimiter do not.
  if (!sep) {
    throw Fault.syntax(
      `The batch request '${requestLine.slice(0, 100)}' has no empty line after its headers; end them with an empty line even without a body.`,
    )
  }
  const headText = after.slice(0, sep.index)
  // the line break before the next delimiter belongs to the delimiter (RFC 2046 §5.1.1), not to the body
  const body = after.slice(sep.index + sep[0].length).replace(/\r?\n$/, '')
  const contentId = part.headers.get('content-id') ?? undefined
  const request: BatchRequest = {
    method,
    target,
    headers: parseHeaders(headText),
    body: body.trim() === '' ? undefined : body,
  }
  if (contentId !== undefined) request.contentId = contentId
  return request
}

/** Parse a `$batch` body into requests and change sets; malformed bodies are 400 faults. */
export function parseBatch(body: string, contentType: string | null): BatchItem[] {
  const boundary = boundaryOf(contentType)
  if (!boundary) throw Fault.syntax('A $batch request needs Content-Type: multipart/mixed with a boundary.')
  const items: BatchItem[] = []
  let count = 0
  for (const part of splitParts(body, boundary)) {
    const inner = boundaryOf(part.headers.get('content-type'))
    if (inner) {
      const requests = splitParts(part.body, inner).map(parseHttp)
      for (const r of requests) {
        if (r.method === 'GET') throw Fault.syntax('A change set cannot contain GET requests.')
      }
      count += requests.length
      items.push({ kind: 'changeset', requests })
    } else {
      items.push({ kind: 'request', request: parseHttp(part) })
      count++
    }
    if (count > MAX_BATCH_REQUESTS) {
      throw new DataverseFault(
        400,
        '0x8006088b',
        `The number of requests in the batch exceeds the maximum of ${MAX_BATCH_REQUESTS}. Split it into smaller batches.`,
      )
    }
  }
  return items
}

export function countRequests(items: BatchItem[]): number {
  return items.reduce((n, i) => n + (i.kind === 'request' ? 1 : i.requests.length), 0)
}

function toApiRequest(
  r: BatchRequest,
  root: string,
  contentIds: Map<string, string> | undefined,
): ApiRequest {
  let target = r.target
  const ref = /^\$([A-Za-z0-9_-]+)/.exec(target)
  if (ref) {
    const mapped = contentIds?.get(ref[1] as string)
    if (!mapped) throw Fault.syntax(`Content-ID Reference: '$${ref[1]}' does not exist in the batch context.`)
    target = mapped + target.slice(ref[0].length)
  }
  let url: URL
  try {
    // An absolute target ignores the base; `/api/data/…` resolves against the origin, `accounts` against the root.
    const rootUrl = new URL(`${root}/`)
    url = new URL(target, target.startsWith('/') ? rootUrl.origin : rootUrl)
  } catch {
    throw Fault.syntax(`The batch request URL '${target.slice(0, 200)}' is not valid.`)
  }
  // A relative `$batch` target reads as a Content-ID reference above; this catches every path that names it.
  if (url.pathname.endsWith('/$batch')) throw Fault.syntax('Nested $batch requests are not supported.')
  return { method: r.method, url, headers: r.headers, body: r.body }
}

/** Thrown inside the store's transaction to roll a change set back; carries the part that failed. */
class ChangeSetFailed extends Error {
  constructor(
    readonly response: ApiResponse,
    readonly contentId: string | undefined,
  ) {
    super()
  }
}

interface Outcome {
  contentId: string | undefined
  response: ApiResponse
}

/**
 * Execute a parsed batch: requests in order; each change set atomically (all or nothing, with `$n` Content-ID
 * references); without `odata.continue-on-error` processing stops at the first failure and the batch answers 400.
 */
export function executeBatch(
  core: OrgCore,
  ctx: CallContext,
  items: BatchItem[],
  root: string,
  continueOnError: boolean,
): ApiResponse {
  const boundary = `batchresponse_${randomUUID()}`
  const chunks: string[] = []
  let failed = false
  for (const item of items) {
    if (item.kind === 'request') {
      let response: ApiResponse
      try {
        response = core.execute(ctx, toApiRequest(item.request, root, undefined))
      } catch (e) {
        response = core.errorResponse(e)
      }
      chunks.push(`--${boundary}\r\n${httpPart(response)}`)
      if (response.status >= 400 && !continueOnError) {
        failed = true
        break
      }
      continue
    }
    const contentIds = new Map<string, string>()
    const scoped: CallContext = { ...ctx, contentIds }
    try {
      const outcomes = core.store.atomically(() => {
        const out: Outcome[] = []
        for (const r of item.requests) {
          let response: ApiResponse
          try {
            response = core.execute(scoped, toApiRequest(r, root, contentIds))
          } catch (e) {
            response = core.errorResponse(e)
          }
          if (response.status >= 400) throw new ChangeSetFailed(response, r.contentId)
          const entity = response.headers['OData-EntityId'] ?? response.headers.Location
          // `$n` stands for the URI of the record the request made (OData 4.0 §11.7.3.1); a DELETE names none.
          // Stryker disable next-line ConditionalExpression,LogicalOperator: a Content-ID mapped to nothing is refused on use just as one never mapped, and an undefined key is never looked up
          if (r.contentId !== undefined && entity) contentIds.set(r.contentId, entity)
          out.push({ response, contentId: r.contentId })
        }
        return out
      })
      const cs = `changesetresponse_${randomUUID()}`
      const inner = outcomes.map((o) => `--${cs}\r\n${httpPart(o.response, o.contentId)}`).join('')
      chunks.push(
        `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${cs}\r\n\r\n${inner}--${cs}--\r\n`,
      )
    } catch (e) {
      if (!(e instanceof ChangeSetFailed)) throw e
      chunks.push(`--${boundary}\r\n${httpPart(e.response, e.contentId)}`)
      if (!continueOnError) {
        failed = true
        break
      }
    }
  }
  return {
    status: failed ? 400 : 200,
    headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}` },
    body: `${chunks.join('')}--${boundary}--\r\n`,
  }
}

function httpPart(response: ApiResponse, contentId?: string): string {
  const { 'Content-ID': cid, ...rest } = response.headers
  const id = contentId ?? cid
  // Every part answers with OData-Version first, a 204 too (Microsoft Learn, Execute batch operations using the
  // Web API: the change set response of the example).
  const lines = [
    `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Unknown'}`,
    'OData-Version: 4.0',
  ]
  for (const [k, v] of Object.entries(rest)) lines.push(`${k}: ${v}`)
  return `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n${id === undefined ? '' : `Content-ID: ${id}\r\n`}\r\n${lines.join('\r\n')}\r\n\r\n${response.body ?? ''}\r\n`
}
