import { describe, expect, it } from 'vitest'
import { DataverseError } from '../../src/index.ts'
import { record } from './record.ts'
import type { Recorded } from './recording-server.ts'

// The documented change-tracking requests, checked on a plain recording server (not the emulator), per Microsoft
// Learn "Use change tracking to synchronize data with external systems"
// (https://learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems):
// the first GET carries `Prefer: odata.track-changes`; the `@odata.deltaLink` is then requested verbatim.

const API = '/api/data/v9.2'
const A = '60c4e274-0d87-e711-80e5-00155db19e6d'
const B = '2e451910-d04e-4c8c-a9a7-3b7e2b0a1f11'
// the documented token form: <version>!<MM/dd/yyyy HH:mm:ss>, percent-encoded in the link
const TOKEN = '919042%2108%2f22%2f2017%2008%3a10%3a44'
async function collect(iterator: AsyncIterableIterator<unknown>, max = 10): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const page of iterator) {
    out.push(page)
    if (out.length >= max) break
  }
  return out
}

describe('Use change tracking to synchronize data with external systems', () => {
  it('asks with Prefer: odata.track-changes, then follows the deltaLink verbatim and reads $deletedEntity', async () => {
    let origin = ''
    const { requests, result } = await record(
      (_r, i) => {
        if (i === 0)
          return {
            status: 200,
            headers: { 'Preference-Applied': 'odata.track-changes' },
            body: {
              '@odata.context': `${origin}${API}/$metadata#accounts(name,telephone1,fax)/$delta`,
              '@odata.deltaLink': `${origin}${API}/accounts?$select=name,telephone1,fax&$deltatoken=${TOKEN}`,
              value: [{ '@odata.etag': 'W/"915244"', name: 'Monte Orton', accountid: A }],
            },
          }
        return {
          status: 200,
          body: {
            '@odata.context': `${origin}${API}/$metadata#accounts(name,telephone1,fax)/$delta`,
            '@odata.deltaLink': `${origin}${API}/accounts?$select=name,telephone1,fax&$deltatoken=919058%2108%2f22%2f2017%2008%3a21%3a20`,
            value: [
              { '@odata.etag': 'W/"915300"', name: 'Monte Orton 2', accountid: A },
              {
                '@odata.context': `${origin}${API}/$metadata#accounts/$deletedEntity`,
                id: B,
                reason: 'deleted',
              },
            ],
          },
        }
      },
      async (c) => {
        origin = c.url.replace(/\/$/, '')
        const first = (await collect(c.changes('accounts', { select: ['name', 'telephone1', 'fax'] }))) as {
          token?: string
        }[]
        const token = first[0]?.token as string
        return [first, await collect(c.changes('accounts', { token }))]
      },
    )
    const [r1, r2] = requests as [Recorded, Recorded]
    expect(r1.method).toBe('GET')
    expect(decodeURIComponent(r1.target)).toBe(`${API}/accounts?$select=name,telephone1,fax`)
    expect(r1.headers.prefer).toBe('odata.track-changes')
    expect(r2.target).toBe(`${API}/accounts?$select=name,telephone1,fax&$deltatoken=${TOKEN}`)
    expect(r2.headers.prefer).toBe('odata.track-changes')
    const [first, second] = result as [unknown[], unknown[]]
    expect(first).toEqual([
      {
        changes: [{ kind: 'upsert', row: expect.objectContaining({ accountid: A }) }],
        token: `${origin}${API}/accounts?$select=name,telephone1,fax&$deltatoken=${TOKEN}`,
      },
    ])
    expect(second).toEqual([
      {
        changes: [
          { kind: 'upsert', row: expect.objectContaining({ name: 'Monte Orton 2' }) },
          { kind: 'delete', id: B },
        ],
        token: expect.stringContaining('$deltatoken=919058'),
      },
    ])
    expect(requests).toHaveLength(2)
  })

  it('pages a delta with odata.maxpagesize: follows @odata.nextLink verbatim, the token comes on the last page', async () => {
    let origin = ''
    const next = `${API}/accounts?$select=name&$deltatoken=${TOKEN}&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E`
    const { requests, result } = await record(
      (_r, i) =>
        i === 0
          ? {
              status: 200,
              body: {
                '@odata.nextLink': `${origin}${next}`,
                value: [{ name: 'One', accountid: A }],
              },
            }
          : {
              status: 200,
              body: {
                '@odata.deltaLink': `${origin}${API}/accounts?$select=name&$deltatoken=919060%2108%2f22%2f2017%2008%3a30%3a00`,
                value: [
                  {
                    '@odata.context': `${origin}${API}/$metadata#accounts/$deletedEntity`,
                    id: B,
                    reason: 'deleted',
                  },
                ],
              },
            },
      async (c) => {
        origin = c.url.replace(/\/$/, '')
        return collect(
          c.changes('accounts', {
            token: `${origin}${API}/accounts?$select=name&$deltatoken=${TOKEN}`,
            maxPageSize: 1,
          }),
        )
      },
    )
    const [r1, r2] = requests as [Recorded, Recorded]
    expect(r1.target).toBe(`${API}/accounts?$select=name&$deltatoken=${TOKEN}`)
    expect(r1.headers.prefer).toBe('odata.track-changes,odata.maxpagesize=1')
    expect(r2.target).toBe(next)
    expect(r2.headers.prefer).toBe('odata.track-changes,odata.maxpagesize=1')
    const pages = result as { changes: unknown[]; token?: string }[]
    expect(pages).toHaveLength(2)
    expect(pages[0]?.token).toBeUndefined()
    expect(pages[1]).toEqual({
      changes: [{ kind: 'delete', id: B }],
      token: expect.stringContaining('919060'),
    })
  })

  it('maps ExpiredVersionStamp and ChangeTrackingNotEnabledForEntity to typed errors', async () => {
    for (const [code, expected] of [
      ['0x80044352', 'CHANGE_TOKEN_EXPIRED'],
      ['0x80072491', 'CHANGE_TRACKING_DISABLED'],
    ] as const) {
      const { result } = await record(
        () => ({ status: 400, body: { error: { code, message: 'x' } } }),
        async (c) => collect(c.changes('accounts')).catch((e: unknown) => e),
      )
      expect(result).toBeInstanceOf(DataverseError)
      expect((result as DataverseError).code).toBe(expected)
    }
  })
})
