import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataverseClient, DataverseError, type Row } from '../src/index.ts'
import { startWorld, type World } from './support.ts'

// client.changes() against the emulator (Microsoft Learn, "Use change tracking to synchronize data with external
// systems"): a replica kept in step with incremental deltas, resumed after a crash from the persisted token.
let world: World
let client: DataverseClient
beforeAll(async () => {
  world = await startWorld()
  client = world.appClient(world.contosoUrl, defaultIds.contosoTenantId)
})
afterAll(async () => {
  await world?.stop()
})

/** A replica of the account names, and the token persisted after everything before it was applied. */
interface Replica {
  rows: Map<string, string>
  token: string | undefined
}

async function sync(replica: Replica, options: { maxPageSize?: number; crashAfterPages?: number } = {}) {
  let pages = 0
  for await (const page of client.changes<Row>('accounts', {
    token: replica.token,
    select: ['name'],
    maxPageSize: options.maxPageSize,
  })) {
    for (const c of page.changes) {
      if (c.kind === 'delete') replica.rows.delete(c.id)
      else replica.rows.set(c.row.accountid as string, c.row.name as string)
    }
    if (page.token) replica.token = page.token
    pages++
    if (options.crashAfterPages !== undefined && pages >= options.crashAfterPages) throw new Error('crash')
    if (pages > 1000) throw new Error('too many pages')
  }
  return pages
}

async function serverRows(): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const r of client.queryAll<Row>('accounts', { select: ['name'] }))
    out.set(r.accountid as string, r.name as string)
  return out
}

describe('client.changes() against the emulator', () => {
  it('syncs fully, then incrementally (creates, updates, deletes), paging with maxPageSize', async () => {
    const replica: Replica = { rows: new Map(), token: undefined }
    expect(await sync(replica, { maxPageSize: 100 })).toBeGreaterThan(1)
    expect(replica.rows).toEqual(await serverRows())
    const a = await client.create('accounts', { name: 'Sync A' })
    const b = await client.create('accounts', { name: 'Sync B' })
    await client.update('accounts', a, { name: 'Sync A2' })
    await client.delete('accounts', b)
    const before = replica.token
    expect(await sync(replica)).toBe(1)
    expect(replica.token).not.toBe(before)
    expect(replica.rows.get(a)).toBe('Sync A2')
    expect(replica.rows.has(b)).toBe(false)
    expect(replica.rows).toEqual(await serverRows())
  })

  it('resumes after a crash mid-delta from the last persisted token, losing nothing', async () => {
    const replica: Replica = { rows: new Map(), token: undefined }
    await sync(replica)
    const ids = await client.createMultiple(
      { entitySet: 'accounts', logicalName: 'account' },
      Array.from({ length: 5 }, (_, i) => ({ name: `Crash ${i}` })),
    )
    const saved = replica.token
    await expect(sync(replica, { maxPageSize: 2, crashAfterPages: 1 })).rejects.toThrow('crash')
    expect(replica.token).toBe(saved) // no token on a page before the last: nothing persisted
    await sync(replica, { maxPageSize: 2 })
    for (const id of ids) expect(replica.rows.has(id)).toBe(true)
    expect(replica.rows).toEqual(await serverRows())
  })

  it('throws CHANGE_TOKEN_EXPIRED for a token the org no longer accepts, and refuses a token of another table', async () => {
    const replica: Replica = { rows: new Map(), token: undefined }
    await sync(replica)
    const stale = (replica.token as string).replace(/deltatoken=\d+/, 'deltatoken=999999999999')
    const error = await sync({ rows: new Map(), token: stale }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataverseError)
    expect((error as DataverseError).code).toBe('CHANGE_TOKEN_EXPIRED')
    expect((error as DataverseError).message).toContain('without a token')
    const other = await client
      .changes('contacts', { token: replica.token })
      .next()
      .catch((e: unknown) => e)
    expect((other as DataverseError).code).toBe('INVALID_ARGUMENT')
  })
})
