import { beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_LIFETIME_MS } from './change-log.ts'
import { formatToken } from './changes.ts'
import { defineTable } from './metadata.ts'
import { Store } from './store.ts'
import { ids, setup } from './test-support.ts'

// Microsoft Learn, "Use change tracking to synchronize data with external systems":
// https://learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems
const API = '/api/data/v9.2'
const TRACK = { Prefer: 'odata.track-changes' }
type Delta = {
  '@odata.context': string
  '@odata.deltaLink'?: string
  '@odata.nextLink'?: string
  value: Record<string, unknown>[]
}

describe('change tracking (odata.track-changes)', () => {
  let env: Awaited<ReturnType<typeof setup>>
  const get = async (path: string, headers: Record<string, string> = TRACK) => {
    const res = await env.request(path, { headers })
    return { res, body: (await res.json()) as Delta & { error?: { code: string; message: string } } }
  }
  beforeAll(async () => {
    env = await setup({
      seed: {
        sampleData: false,
        tables: [
          { logicalName: 'new_widget', schemaName: 'new_Widget' },
          { logicalName: 'new_part', changeTracking: true },
        ],
        systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['System Administrator'] }],
      },
    })
  })

  it('answers the rows, a deltaLink and Preference-Applied, then only what changed since, with deletions', async () => {
    const [a, b, c] = env.org.data.insertRows('account', [{ name: 'A' }, { name: 'B' }, { name: 'C' }])
    const first = await get(`${API}/accounts?$select=name`)
    expect(first.res.status).toBe(200)
    expect(first.res.headers.get('preference-applied')).toBe('odata.track-changes')
    expect(first.body['@odata.context']).toBe(`${env.url}${API}/$metadata#accounts(name)/$delta`)
    expect(first.body.value.map((r) => r.name).sort()).toEqual(['A', 'B', 'C'])
    expect(Object.keys(first.body.value[0] as object).sort()).toEqual(['@odata.etag', 'accountid', 'name'])
    const link = first.body['@odata.deltaLink'] as string
    expect(link).toMatch(
      new RegExp(
        `^${env.url}${API}/accounts\\?\\$select=name&\\$deltatoken=\\d+%21\\d\\d%2F\\d\\d%2F\\d{4}%20`,
      ),
    )

    const nothing = await get(link)
    expect(nothing.body.value).toEqual([])
    expect(nothing.body['@odata.deltaLink']).toBeDefined()

    await env.request(`${API}/accounts(${a})`, { method: 'PATCH', body: JSON.stringify({ name: 'A2' }) })
    await env.request(`${API}/accounts(${b})`, { method: 'DELETE' })
    const [d] = env.org.data.insertRows('account', [{ name: 'D' }])
    const delta = await get(link)
    expect(delta.res.status).toBe(200)
    expect(delta.res.headers.get('preference-applied')).toBe('odata.track-changes')
    expect(delta.body.value).toEqual([
      expect.objectContaining({ accountid: a, name: 'A2' }),
      {
        '@odata.context': `${env.url}${API}/$metadata#accounts/$deletedEntity`,
        id: b,
        reason: 'deleted',
      },
      expect.objectContaining({ accountid: d, name: 'D' }),
    ])
    expect(delta.body.value.some((r) => r.accountid === c)).toBe(false)
    // the new link covers only what comes after it
    const after = await get(delta.body['@odata.deltaLink'] as string)
    expect(after.body.value).toEqual([])
    // a delta link works without the Prefer header too (the token says it all)
    const plain = await get(link, {})
    expect(plain.body.value).toHaveLength(3)
  })

  it('pages a delta with odata.maxpagesize: nextLink pages, then the deltaLink on the last page', async () => {
    const local = await setup({ seed: { sampleData: false } })
    local.org.data.insertRows(
      'contact',
      Array.from({ length: 5 }, (_, i) => ({ lastname: `L${i}` })),
    )
    const seen: string[] = []
    let url: string | undefined = `${API}/contacts?$select=lastname`
    let delta: string | undefined
    for (let i = 0; i < 10 && url; i++) {
      const res = await local.request(url, { headers: { Prefer: 'odata.track-changes,odata.maxpagesize=2' } })
      const body = (await res.json()) as Delta
      expect(res.status, JSON.stringify(body)).toBe(200)
      seen.push(...body.value.map((r) => r.lastname as string))
      url = body['@odata.nextLink']
      delta = body['@odata.deltaLink']
      if (url) expect(delta).toBeUndefined()
    }
    expect(seen.sort()).toEqual(['L0', 'L1', 'L2', 'L3', 'L4'])
    expect(delta).toMatch(/\$deltatoken=/)
  })

  it('refuses a table without change tracking, with the documented error', async () => {
    const { res, body } = await get(`${API}/new_widgets`)
    expect(res.status).toBe(400)
    expect(body.error?.code).toBe('0x80072491')
    expect(body.error?.message).toContain("Entity new_widget isn't enabled for change tracking")
  })

  it('keeps deletions across a snapshot; a reset expires earlier tokens', async () => {
    const local = await setup({ seed: { sampleData: false } })
    const [a, b] = local.org.data.insertRows('account', [{ name: 'A' }, { name: 'B' }])
    const link = ((await (await local.request(`${API}/accounts`, { headers: TRACK })).json()) as Delta)[
      '@odata.deltaLink'
    ] as string
    const deletedAt = local.world.clock.now()
    await local.request(`${API}/accounts(${a})`, { method: 'DELETE' })
    local.org.restore(local.org.snapshot())
    // the time of the deletion survives the round trip (it decides when the tombstone may be forgotten)
    const saved = local.org.snapshot() as {
      changes: { tombstones: Record<string, [string, number, number][]> }
    }
    expect(saved.changes.tombstones.account?.[0]?.[0]).toBe(a)
    expect(saved.changes.tombstones.account?.[0]?.[2]).toBeGreaterThanOrEqual(deletedAt)
    const body = (await (await local.request(link)).json()) as Delta
    expect(body.value).toEqual([expect.objectContaining({ id: a, reason: 'deleted' })])
    // a reset makes every earlier token expire (its deletions are gone)
    local.org.reset()
    expect((await local.request(link)).status).toBe(400)
    expect(b).toBeDefined()
  })

  it('reports ChangeTrackingEnabled in the table definitions', async () => {
    const res = await env.request(
      `${API}/EntityDefinitions?$select=LogicalName&$filter=ChangeTrackingEnabled eq true`,
    )
    const names = ((await res.json()) as { value: { LogicalName: string }[] }).value.map((v) => v.LogicalName)
    expect(names).toContain('account')
    expect(names).toContain('new_part')
    expect(names).not.toContain('new_widget')
  })
  it('answers ExpiredVersionStamp for an expired, future or pre-reset token, and a syntax error for garbage', async () => {
    const local = await setup({ seed: { sampleData: false } })
    const first = (await (await local.request(`${API}/accounts`, { headers: TRACK })).json()) as Delta
    const link = first['@odata.deltaLink'] as string
    const future = `${env.url}${API}/accounts?$deltatoken=${encodeURIComponent(formatToken(9e12, Date.now()))}`
    for (const bad of [future]) {
      const res = await local.request(bad)
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('0x80044352')
    }
    const garbage = await local.request(`${API}/accounts?$deltatoken=abc`)
    expect(garbage.status).toBe(400)
    expect(((await garbage.json()) as { error: { code: string } }).error.code).toBe('0x80060888')
    expect((await local.request(link)).status).toBe(200)
    local.world.clock.advance(TOKEN_LIFETIME_MS + 1000)
    // the shared test world's clock moved: mint a token at the new time
    const expired = await local.request(link, { token: await local.appToken() })
    expect(expired.status).toBe(400)
    expect(((await expired.json()) as { error: { code: string; message: string } }).error.message).toMatch(
      /full sync/,
    )
  })
})

describe('the change log of the store', () => {
  it('stamps a tombstone on delete of a tracked table only, and a failed change set leaves none', () => {
    const store = new Store()
    const tracked = store.addTable(defineTable({ logicalName: 'new_a', changeTracking: true }))
    const plain = store.addTable(defineTable({ logicalName: 'new_b' }))
    const row = (t: typeof tracked, id: string) => {
      const r = new Array(t.def.columns.length + 1).fill(null)
      r[t.idIndex] = id
      store.insert(t, r)
      return r
    }
    const a1 = row(tracked, 'a1')
    const a2 = row(tracked, 'a2')
    const b1 = row(plain, 'b1')
    const before = store.version
    store.remove(tracked, a1)
    store.remove(plain, b1)
    expect(store.changes.tombstones.get('new_a')).toEqual([
      { id: 'a1', version: before + 1, at: expect.any(Number) },
    ])
    expect(store.changes.tombstones.has('new_b')).toBe(false)
    expect(() =>
      store.atomically(() => {
        store.remove(tracked, a2)
        throw new Error('later operation failed')
      }),
    ).toThrow('later operation failed')
    expect(tracked.get('a2')).toBe(a2)
    expect(store.changes.tombstones.get('new_a')).toHaveLength(1)
    expect(store.version).toBe(before + 1)
  })

  it('forgets a tombstone older than a token can live, on the next delete of its table', () => {
    const store = new Store()
    let now = Date.UTC(2026, 0, 1)
    store.changes.now = () => now
    const tracked = store.addTable(defineTable({ logicalName: 'new_a', changeTracking: true }))
    const row = (id: string) => {
      const r = new Array(tracked.def.columns.length + 1).fill(null)
      r[tracked.idIndex] = id
      store.insert(tracked, r)
      return r
    }
    const [a1, a2, a3] = [row('a1'), row('a2'), row('a3')]
    store.remove(tracked, a1)
    now += TOKEN_LIFETIME_MS - 1000
    store.remove(tracked, a2)
    // a1 is younger than a token's lifetime when a2 goes: a token issued before a1's deletion may still be valid
    expect(store.changes.tombstones.get('new_a')?.map((t) => t.id)).toEqual(['a1', 'a2'])
    now += 2000
    store.remove(tracked, a3)
    // now every token that could need a1 has expired
    expect(store.changes.tombstones.get('new_a')?.map((t) => t.id)).toEqual(['a2', 'a3'])
  })
})
