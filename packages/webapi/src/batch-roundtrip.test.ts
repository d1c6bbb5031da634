import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { guarded } from '../test/runaway.ts'
import { createDataverseClient } from './client.ts'

const ORG = 'https://contoso.crm.dynamics.com'

// One operation: the row it sends, and the status and JSON the server answers for it.
interface Op {
  data: Record<string, unknown>
  status: 200 | 201 | 204
  answer: unknown
}
type Group = { changeSet: false; op: Op } | { changeSet: true; ops: Op[] }

const op: fc.Arbitrary<Op> = fc.record({
  // Any JSON in the rows and answers: strings with CR, LF, dashes and things that look like delimiters.
  data: fc.dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), fc.jsonValue(), { maxKeys: 4 }),
  status: fc.constantFrom(200 as const, 201 as const, 204 as const),
  answer: fc.jsonValue(),
})
const group: fc.Arbitrary<Group> = fc.oneof(
  op.map((o) => ({ changeSet: false as const, op: o })),
  fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => ({ changeSet: true as const, ops })),
)

/** A response as Dataverse writes it (powerapps-docs, "Execute batch operations using the Web API"). */
function respond(groups: Group[], boundary: string): string {
  const part = (o: Op, contentId?: string) => {
    const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary']
    if (contentId) lines.push(`Content-ID: ${contentId}`)
    lines.push('', `HTTP/1.1 ${o.status} X`)
    if (o.status === 204) lines.push('', '')
    else
      lines.push(
        'Content-Type: application/json; odata.metadata=minimal',
        'OData-Version: 4.0',
        '',
        JSON.stringify(o.answer),
      )
    return lines
  }
  const lines: string[] = []
  let contentId = 1
  groups.forEach((g, i) => {
    lines.push(`--${boundary}`)
    if (!g.changeSet) {
      lines.push(...part(g.op))
      return
    }
    const cs = `changesetresponse_${i}`
    lines.push(`Content-Type: multipart/mixed; boundary=${cs}`, '')
    for (const o of g.ops) lines.push(`--${cs}`, ...part(o, String(contentId++)))
    lines.push(`--${cs}--`)
  })
  lines.push(`--${boundary}--`, '')
  return lines.join('\r\n')
}

const ops = (groups: Group[]) => groups.flatMap((g) => (g.changeSet ? g.ops : [g.op]))
const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown

describe('$batch build and parse (property)', () => {
  it('sends every row verbatim in its part and reads back every status and body in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(group, { minLength: 1, maxLength: 5 }),
        fc.stringMatching(/^[0-9a-f]{8,24}$/),
        async (groups, hex) => {
          const boundary = `batchresponse_${hex}`
          const texts = ops(groups).flatMap((o) => [JSON.stringify(o.data), JSON.stringify(o.answer)])
          // Real boundaries are random: skip the (astronomically rare) bodies that contain one.
          fc.pre(!texts.some((t) => t.includes(`--${boundary}`) || t.includes('--changesetresponse_')))
          let sent = ''
          const client = guarded(
            createDataverseClient({
              url: ORG,
              getToken: () => 'tok',
              retry: false,
              fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
                sent = await new Request(input, init).text()
                return new Response(respond(groups, boundary), {
                  status: 200,
                  headers: { 'content-type': `multipart/mixed; boundary=${boundary}` },
                })
              }) as typeof fetch,
            }),
          )
          const batch = client.batch()
          for (const g of groups) {
            if (g.changeSet)
              batch.changeSet((cs) => {
                for (const o of g.ops) cs.create('accounts', o.data)
              })
            else batch.create('accounts', g.op.data)
          }
          const results = await batch.execute()

          // Each row is the whole body of its part: after the blank line, up to the next delimiter.
          for (const o of ops(groups)) expect(sent).toContain(`\r\n\r\n${JSON.stringify(o.data)}\r\n--`)
          expect(
            results.map((r) => (r.ok ? { index: r.index, status: r.status, body: r.body } : r.error.message)),
          ).toEqual(
            ops(groups).map((o, index) => ({
              index,
              status: o.status,
              body: o.status === 204 ? undefined : roundTrip(o.answer),
            })),
          )
        },
      ),
      { numRuns: 200 },
    )
  })
})
