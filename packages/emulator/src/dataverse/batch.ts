import { randomUUID } from 'node:crypto'
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

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
}

export function boundaryOf(contentType: string | null): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\s*;/i.test(contentType)) return undefined
  const m = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
}

function splitParts(body: string, boundary: string): Part[] {
  const delimiter = `--${boundary}`
  const pieces = body.split(delimiter)
  const parts: Part[] = []
  let closed = false
  for (let i = 1; i < pieces.length; i++) {
    let piece = pieces[i] as string
    if (piece.startsWith('--')) {
      closed = true
      break
    }
    piece = piece.replace(/^[ \t]*\r?\n/, '')
    const sep = /\r?\n\r?\n/.exec(piece)
    const headText = sep ? piece.slice(0, sep.index) : piece
    const rest = sep ? piece.slice(sep.index + sep[0].length) : ''
    parts.push({ headers: parseHeaders(headText), body: rest.replace(/\r?\n$/, '') })
  }
  if (!closed) throw Fault.syntax(`The batch body has no closing delimiter '--${boundary}--'.`)
  return parts
}

function parseHeaders(text: string): Headers {
  const headers = new Headers()
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const colon = line.indexOf(':')
    if (colon <= 0) throw Fault.syntax(`The batch part header line '${line.slice(0, 80)}' is not valid.`)
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
    } catch {
      throw Fault.syntax(`The batch part header line '${line.slice(0, 80)}' is not valid.`)
    }
  }
  return headers
}

function parseHttp(part: Part): BatchRequest {
  const type = part.headers.get('content-type') ?? ''
  if (!/^application\/http/i.test(type))
    throw Fault.syntax('Each batch part must have Content-Type: application/http.')
  const text = part.body.replace(/^\s*\r?\n/, '')
  const lineEnd = /\r?\n/.exec(text)
  const requestLine = lineEnd ? text.slice(0, lineEnd.index) : text
  const m = /^([A-Z]+) (\S+)(?: HTTP\/1\.[01])?\s*$/.exec(requestLine)
  if (!m) throw Fault.syntax(`The batch request line '${requestLine.slice(0, 100)}' is not valid.`)
  const after = lineEnd ? text.slice(lineEnd.index + lineEnd[0].length) : ''
  const sep = /(^|\r?\n)\r?\n/.exec(after)
  // The embedded request's header block ends with an empty line, also when no body follows (Microsoft Learn:
  // Execute batch operations using the Web API: the GET and DELETE parts).
  if (!sep) {
    throw Fault.syntax(
      `The batch request '${requestLine.slice(0, 100)}' has no empty line after its headers; end them with an empty line even without a body.`,
    )
  }
  const headText = after.slice(0, sep.index)
  const body = after.slice(sep.index + sep[0].length)
  const contentId = part.headers.get('content-id') ?? undefined
  const request: BatchRequest = {
    method: m[1] as string,
    target: m[2] as string,
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
  const ref = /^\$([A-Za-z0-9_-]+)(.*)$/.exec(target)
  if (ref) {
    const mapped = contentIds?.get(ref[1] as string)
    if (!mapped) throw Fault.syntax(`Content-ID Reference: '$${ref[1]}' does not exist in the batch context.`)
    target = `${mapped}${ref[2]}`
  }
  let url: URL
  try {
    const rootUrl = new URL(`${root}/`)
    url = /^https?:\/\//i.test(target)
      ? new URL(target)
      : target.startsWith('/')
        ? new URL(target, rootUrl.origin)
        : new URL(target, rootUrl)
  } catch {
    throw Fault.syntax(`The batch request URL '${target.slice(0, 200)}' is not valid.`)
  }
  if (r.target.startsWith('$batch') || url.pathname.endsWith('/$batch'))
    throw Fault.syntax('Nested $batch requests are not supported.')
  return { method: r.method, url, headers: r.headers, body: r.body }
}

class ChangeSetFailed extends Error {
  constructor(readonly response: ApiResponse) {
    super('change set failed')
  }
}

interface Outcome {
  contentId?: string
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
          if (response.status >= 400) throw new ChangeSetFailed(withContentId(response, r.contentId))
          const entity = response.headers['OData-EntityId'] ?? response.headers.Location
          if (r.contentId !== undefined && entity) contentIds.set(r.contentId, entity.slice(root.length + 1))
          out.push(r.contentId === undefined ? { response } : { response, contentId: r.contentId })
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
      chunks.push(`--${boundary}\r\n${httpPart(e.response)}`)
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

function withContentId(response: ApiResponse, contentId: string | undefined): ApiResponse {
  return contentId === undefined
    ? response
    : { ...response, headers: { ...response.headers, 'Content-ID': contentId } }
}

function httpPart(response: ApiResponse, contentId?: string): string {
  const { 'Content-ID': cid, ...rest } = response.headers
  const id = contentId ?? cid
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? 'Unknown'}`]
  for (const [k, v] of Object.entries(rest)) lines.push(`${k}: ${v}`)
  if (response.body !== undefined) lines.push('OData-Version: 4.0')
  return `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n${id === undefined ? '' : `Content-ID: ${id}\r\n`}\r\n${lines.join('\r\n')}\r\n\r\n${response.body ?? ''}\r\n`
}
