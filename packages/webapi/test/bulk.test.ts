import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type DataverseClient, type DataverseError, odata, type Row } from '../src/index.ts'
import { startWorld, type World } from './support.ts'

let world: World
let client: DataverseClient
const accounts = { entitySet: 'accounts', logicalName: 'account' }

beforeAll(async () => {
  world = await startWorld()
  client = world.appClient(world.contosoUrl, defaultIds.contosoTenantId)
})
afterAll(async () => {
  await world?.stop()
})
afterEach(() => {
  world.emulator.admin.clearFaults()
})

const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the bulk operation to fail')
    },
    (e: unknown) => e as DataverseError,
  )

const numbered = (prefix: string, n: number, extra: (i: number) => Row = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({
    name: `${prefix} ${i}`,
    accountnumber: `${prefix}-${String(i).padStart(5, '0')}`,
    ...extra(i),
  }))

/** accountnumber → rows with that number, for every account whose number starts with `prefix-`. */
async function byNumber(prefix: string): Promise<Map<string, { accountid: string; name: string }[]>> {
  const seen = new Map<string, { accountid: string; name: string }[]>()
  for await (const row of client.queryAll<{ accountid: string; name: string; accountnumber: string }>(
    'accounts',
    {
      select: ['accountid', 'name', 'accountnumber'],
      filter: odata`startswith(accountnumber, ${`${prefix}-`})`,
    },
  )) {
    seen.set(row.accountnumber, [...(seen.get(row.accountnumber) ?? []), row])
  }
  return seen
}

describe('bulk operations against the emulator over HTTPS', () => {
  it('creates 2,500 rows from an async iterable in chunks, exactly once, with the ids in input order', async () => {
    const rows = numbered('BC', 2500)
    let yielded = 0
    const source = async function* () {
      for (const row of rows) {
        yielded++
        yield row
      }
    }
    const readAtCompletion: number[] = []
    const serial = world.appClient(world.contosoUrl, defaultIds.contosoTenantId, { concurrency: 1 })
    const ids = await serial.createMultiple(accounts, source(), {
      onChunk: (chunk) => readAtCompletion.push(yielded - (chunk.start + chunk.count)),
    })
    // three requests; with one request at a time the input is never read more than one chunk ahead
    expect(readAtCompletion).toHaveLength(3)
    expect(Math.max(...readAtCompletion)).toBeLessThanOrEqual(1000)
    expect(ids).toHaveLength(2500)
    const seen = await byNumber('BC')
    expect(seen.size).toBe(2500)
    rows.forEach((row, i) => {
      const found = seen.get(row.accountnumber)
      expect(found).toHaveLength(1)
      expect(found?.[0]?.accountid).toBe(ids[i])
    })

    // in parallel under the adaptive limiter, from an array
    const parallel = await client.createMultiple(accounts, numbered('BP', 2500), { chunkSize: 250 })
    const seenParallel = await byNumber('BP')
    expect(seenParallel.size).toBe(2500)
    numbered('BP', 2500).forEach((row, i) => {
      expect(seenParallel.get(row.accountnumber)?.map((r) => r.accountid)).toEqual([parallel[i]])
    })
  }, 60_000)

  it('upserts by alternate key twice with the same result', async () => {
    const key = (row: Row) => ({ accountnumber: row.accountnumber as string })
    const first = numbered('BU', 1200).map(({ name, accountnumber }) => ({ name, accountnumber }))
    expect(await client.upsertMultiple(accounts, first, { key, chunkSize: 500 })).toBe(1200)
    const once = await byNumber('BU')
    expect(once.size).toBe(1200)
    const renamed = first.map((r) => ({ ...r, name: `${r.name} again` }))
    expect(await client.upsertMultiple(accounts, renamed, { key, chunkSize: 500 })).toBe(1200)
    expect(await client.upsertMultiple(accounts, renamed, { key, chunkSize: 500 })).toBe(1200)
    const twice = await byNumber('BU')
    expect(twice.size).toBe(1200)
    // key values that need quoting and percent-encoding inside @odata.id
    const odd = [{ accountnumber: "BU-odd x/y'z%#+", name: 'odd key' }]
    expect(await client.upsertMultiple(accounts, odd, { key })).toBe(1)
    expect(await client.upsertMultiple(accounts, odd, { key })).toBe(1)
    expect((await byNumber('BU')).get("BU-odd x/y'z%#+")).toHaveLength(1)
    for (const [number, found] of twice) {
      expect(found).toHaveLength(1)
      expect(found[0]?.accountid).toBe(once.get(number)?.[0]?.accountid)
      expect(found[0]?.name).toMatch(/ again$/)
    }
  })

  it('updates existing rows by primary key and refuses to create through updateMultiple', async () => {
    const ids = await client.createMultiple(accounts, numbered('BX', 10))
    const n = await client.updateMultiple(
      accounts,
      ids.map((accountid, i) => ({ accountid, name: `BX updated ${i}` })),
    )
    expect(n).toBe(10)
    const seen = await byNumber('BX')
    expect([...seen.values()].every((f) => f[0]?.name.startsWith('BX updated'))).toBe(true)
    const ghost = await caught(
      client.updateMultiple(accounts, [{ accountid: '00000000-0000-4000-8000-00000000beef', name: 'ghost' }]),
    )
    expect(ghost.code).toBe('BULK_INCOMPLETE')
    expect(ghost.bulk?.failed[0]?.error.code).toBe('NOT_FOUND')
  })

  it('reports a chunk failing on a bad row as not written while the other chunks land, and resumes', async () => {
    const rows = numbered('BF', 300, (i) => (i === 150 ? { nosuchcolumn: 1 } : {}))
    const error = await caught(
      client.createMultiple(accounts, rows, { chunkSize: 100, continueOnError: true }),
    )
    expect(error.code).toBe('BULK_INCOMPLETE')
    expect(error.status).toBe(400)
    const bulk = error.bulk
    expect(bulk?.consumed).toBe(300)
    expect(bulk?.written.map((c) => [c.start, c.count, c.ids?.length])).toEqual([
      [0, 100, 100],
      [200, 100, 100],
    ])
    expect(bulk?.failed.map((c) => [c.start, c.count])).toEqual([[100, 100]])
    expect(bulk?.failed[0]?.rows).toEqual(rows.slice(100, 200))
    expect(bulk?.failed[0]?.error.code).toBe('BAD_REQUEST')
    expect(bulk?.uncertain).toEqual([])
    const landed = await byNumber('BF')
    expect(landed.size).toBe(200)
    for (let i = 0; i < 300; i++) {
      expect(landed.has(rows[i]?.accountnumber as string)).toBe(i < 100 || i >= 200)
    }
    // resume: fix the bad row and send only what was not written
    const retry = (bulk?.failed ?? []).flatMap((c) => c.rows.map(({ nosuchcolumn: _, ...row }) => row))
    await client.createMultiple(accounts, retry)
    const all = await byNumber('BF')
    expect(all.size).toBe(300)
    expect([...all.values()].every((f) => f.length === 1)).toBe(true)
  })

  it('stops reading at the first failure by default and closes the input', async () => {
    const rows = numbered('BS', 300, (i) => (i === 150 ? { nosuchcolumn: 1 } : {}))
    let closed = false
    const source = function* () {
      try {
        yield* rows
      } finally {
        closed = true
      }
    }
    const serial = world.appClient(world.contosoUrl, defaultIds.contosoTenantId, { concurrency: 1 })
    const error = await caught(serial.createMultiple(accounts, source(), { chunkSize: 100 }))
    expect(error.bulk?.written.map((c) => c.start)).toEqual([0])
    expect(error.bulk?.failed.map((c) => c.start)).toEqual([100])
    expect(error.bulk?.consumed).toBe(200)
    expect(error.message).toContain('rows from position 200 on were not read')
    expect(closed).toBe(true)
    expect((await byNumber('BS')).size).toBe(100)
  })

  it('lands exactly once under injected 429 and 503 faults', async () => {
    const { admin } = world.emulator
    const scope = defaultIds.contosoOrgId
    const fast = world.appClient(world.contosoUrl, defaultIds.contosoTenantId, {
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    })
    admin.injectFault({ scope, kind: '429', next: 2, retryAfterSeconds: 0.05, path: 'CreateMultiple' })
    admin.injectFault({ scope, kind: 'status', status: 503, next: 2, path: 'CreateMultiple' })
    const ids = await fast.createMultiple(accounts, numbered('BT', 2000), { chunkSize: 200, retryable: true })
    const fired = admin.listFaults()
    expect(fired).toEqual([]) // every injected fault was used up
    const seen = await byNumber('BT')
    expect(seen.size).toBe(2000)
    expect(new Set(ids).size).toBe(2000)
    expect([...seen.values()].every((f) => f.length === 1)).toBe(true)

    admin.injectFault({ scope, kind: '429', next: 2, retryAfterSeconds: 0.05, path: 'UpsertMultiple' })
    admin.injectFault({ scope, kind: 'status', status: 503, next: 3, path: 'UpsertMultiple' })
    const key = (row: Row) => ({ accountnumber: row.accountnumber as string })
    expect(await fast.upsertMultiple(accounts, numbered('BT', 2400), { key, chunkSize: 300 })).toBe(2400)
    const upserted = await byNumber('BT')
    expect(upserted.size).toBe(2400)
    expect([...upserted.values()].every((f) => f.length === 1)).toBe(true)
  }, 60_000)

  it('does not retry a create chunk after a 503 unless asked, and reports it as uncertain', async () => {
    const { admin } = world.emulator
    admin.injectFault({
      scope: defaultIds.contosoOrgId,
      kind: 'status',
      status: 503,
      next: 1,
      path: 'CreateMultiple',
    })
    const serial = world.appClient(world.contosoUrl, defaultIds.contosoTenantId, { concurrency: 1 })
    const error = await caught(serial.createMultiple(accounts, numbered('BN', 30), { chunkSize: 10 }))
    expect(error.bulk?.uncertain.map((c) => [c.start, c.error.status, c.error.attempts])).toEqual([
      [0, 503, 1],
    ])
    expect(error.bulk?.written).toEqual([])
    expect(error.bulk?.consumed).toBe(10)
    expect((await byNumber('BN')).size).toBe(0)
  })

  it('applies impersonation to bulk calls', async () => {
    const alice = client.as({ callerObjectId: defaultIds.users.contosoAlice })
    const aliceId = (await alice.whoAmI()).userId
    const appId = (await client.whoAmI()).userId
    const ids = await alice.createMultiple(accounts, numbered('BI', 5))
    for (const id of ids) {
      const row = await client.retrieve<{ _createdby_value: string; _createdonbehalfby_value: string }>(
        'accounts',
        id,
        { select: ['_createdby_value', '_createdonbehalfby_value'] },
      )
      expect([row._createdby_value, row._createdonbehalfby_value]).toEqual([aliceId, appId])
    }
    const bob = await caught(
      client.upsertMultiple(accounts, numbered('BJ', 5), {
        impersonate: { callerObjectId: defaultIds.users.contosoBob },
        key: (row) => ({ accountnumber: row.accountnumber as string }),
      }),
    )
    expect(bob.bulk?.failed[0]?.error.code).toBe('FORBIDDEN')
    expect((await byNumber('BJ')).size).toBe(0)
  })

  it('refuses a bad table, chunk size or row before sending anything', async () => {
    await expect(client.createMultiple('accounts' as never, [])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(
      client.createMultiple({ entitySet: 'accounts', logicalName: 'bad name' }, []),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(client.createMultiple(accounts, [], { chunkSize: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    expect(await client.createMultiple(accounts, [])).toEqual([])
    const notObject = await caught(client.createMultiple(accounts, [42 as unknown as Row]))
    expect(notObject.bulk?.failed[0]?.error.code).toBe('INVALID_ARGUMENT')
  })
})
