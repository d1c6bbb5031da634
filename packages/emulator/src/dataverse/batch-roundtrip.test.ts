import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type BatchItem, type BatchRequest, parseBatch } from './batch.ts'

// What a client writes (the wire form of webapi's batch builder and of Microsoft's "Execute batch operations using
// the Web API"): parts of Content-Type application/http, change sets as nested multipart/mixed, CRLF line ends.
interface Spec {
  method: string
  target: string
  headers: [string, string][]
  body: string | undefined
  contentId?: string
}
type Item = { kind: 'request'; request: Spec } | { kind: 'changeset'; requests: Spec[] }

function writeRequest(spec: Spec): string[] {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary']
  if (spec.contentId !== undefined) lines.push(`Content-ID: ${spec.contentId}`)
  lines.push('', `${spec.method} ${spec.target} HTTP/1.1`)
  for (const [k, v] of spec.headers) lines.push(`${k}: ${v}`)
  lines.push('')
  // A part's header block ends with an empty line even without a body (the documented GET/DELETE parts); the
  // line break before the next boundary belongs to the boundary.
  lines.push(spec.body ?? '')
  return lines
}

function writeBatch(items: Item[], boundary: string): string {
  const lines: string[] = []
  items.forEach((item, i) => {
    lines.push(`--${boundary}`)
    if (item.kind === 'request') {
      lines.push(...writeRequest(item.request))
      return
    }
    const cs = `changeset_${i}`
    lines.push(`Content-Type: multipart/mixed; boundary=${cs}`, '')
    for (const r of item.requests) lines.push(`--${cs}`, ...writeRequest(r))
    lines.push(`--${cs}--`)
  })
  lines.push(`--${boundary}--`, '')
  return lines.join('\r\n')
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)
const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/)
const target = fc
  .tuple(fc.stringMatching(/^[a-z]{1,12}$/), fc.option(fc.uuid(), { nil: undefined }))
  .map(([set, id]) => `/api/data/v9.2/${set}${id ? `(${id})` : ''}`)
// JSON bodies of any shape: strings in them may hold CR, LF, dashes and things that look like delimiters.
const body = fc.option(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  { nil: undefined },
)
const headers = fc.uniqueArray(fc.tuple(token, headerValue), {
  maxLength: 4,
  selector: ([k]) => k.toLowerCase(),
})
const spec = (methods: string[]) =>
  fc.record({ method: fc.constantFrom(...methods), target, headers, body }).map((s): Spec => s)
const item: fc.Arbitrary<Item> = fc.oneof(
  spec(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']).map((request) => ({ kind: 'request' as const, request })),
  fc.array(spec(['POST', 'PATCH', 'PUT', 'DELETE']), { minLength: 1, maxLength: 4 }).map((requests) => ({
    kind: 'changeset' as const,
    requests: requests.map((r, i) => ({ ...r, contentId: String(i + 1) })),
  })),
)

function view(request: BatchRequest | Spec) {
  const headers =
    request.headers instanceof Headers
      ? [...request.headers.entries()]
      : request.headers.map(([k, v]) => [k.toLowerCase(), v])
  return {
    method: request.method,
    target: request.target,
    headers: Object.fromEntries(headers),
    // A body of only whitespace is no body.
    body: request.body === undefined || request.body.trim() === '' ? undefined : request.body,
    contentId: request.contentId,
  }
}

describe('$batch request parser (property)', () => {
  it('reads back every request and change set a client writes, whatever the JSON bodies hold', () => {
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 6 }),
        fc.stringMatching(/^[0-9a-f]{8,24}$/),
        (items, hex) => {
          const boundary = `batch_${hex}`
          const wire = writeBatch(items, boundary)
          // A real boundary is random and never inside a part; skip the (astronomically rare) collisions.
          fc.pre(
            !items.some((i) =>
              (i.kind === 'request' ? [i.request] : i.requests).some(
                (r) => r.body?.includes(`--${boundary}`) || r.body?.includes('--changeset_'),
              ),
            ),
          )
          const parsed: BatchItem[] = parseBatch(wire, `multipart/mixed; boundary=${boundary}`)
          expect(
            parsed.map((p) =>
              p.kind === 'request'
                ? { kind: p.kind, request: view(p.request) }
                : { kind: p.kind, requests: p.requests.map(view) },
            ),
          ).toEqual(
            items.map((i) =>
              i.kind === 'request'
                ? { kind: i.kind, request: view(i.request) }
                : { kind: i.kind, requests: i.requests.map(view) },
            ),
          )
        },
      ),
      { numRuns: 300 },
    )
  })
})
