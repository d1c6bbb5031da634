import { clientSecret, createTokenProvider } from '@dataverse-s2s/core'
import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'
import type { DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { atomic, rolledBack, singleProperties } from '../snippets/batch.ts'
import { clientFor } from '../snippets/client.ts'
import { findAccount, tunedClient, withDeadline } from '../snippets/errors.ts'
import { asUser } from '../snippets/impersonation.ts'
import { bulkUpsert, limitedClient } from '../snippets/limits.ts'
import {
  aliased,
  counting,
  everyRow,
  fetchXml,
  fetchXmlCount,
  filters,
  paging,
} from '../snippets/querying.ts'
import { createReturned, records } from '../snippets/records.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

let setup: Setup
let client: DataverseClient
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  client = clientFor(setup, setup.contoso)
})
afterAll(async () => {
  await setup?.emulator.stop()
})

const ids = () => client.query<{ accountid: string }>('accounts', { select: ['accountid'], top: 1 })

describe('records snippets', () => {
  it('creates, reads, updates with an etag (412 when stale), upserts by key, deletes', async () => {
    const before = await client.count('accounts')
    const r = await records(client)
    expect(r.contact.fullname).toBe('Rene Valdes')
    expect(r.account.name).toBe('Fourth Coffee')
    expect(r.created).toBe(false)
    const litware = await client.retrieve<{ name: string; address1_city: string }>(
      'accounts',
      { accountnumber: 'LTW-0001' },
      { select: ['name', 'address1_city'] },
    )
    expect(litware).toMatchObject({ name: 'Litware, Inc.', address1_city: 'Redmond' })
    expect(
      await client.retrieve<{ accountid: string }>(
        'accounts',
        { accountnumber: 'LTW-0001' },
        { select: ['accountid'] },
      ),
    ).toMatchObject({ accountid: r.upsertedId })
    const phone = await client.retrieve<{ telephone1: string }>('accounts', { accountnumber: 'LTW-0001' })
    expect(phone).toBeDefined()
    await expect(client.retrieve('accounts', r.accountId)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(await client.count('accounts')).toBe(before + 2) // LTW-0001 and LTW-0002 remain
    await expect(
      client.upsert('accounts', { accountnumber: 'LTW-0002' }, { name: 'x' }, { mode: 'createOnly' }),
    ).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' })
  })
})

describe('create with data returned snippet', () => {
  it('returns the created row with the bound contact expanded, and the updated row with select', async () => {
    const contactId = await client.create('contacts', { firstname: 'Rene', lastname: 'Valdes' })
    const { account, renamed } = await createReturned(client, contactId)
    expect(account.name).toBe('Coho Vineyard')
    expect(account.primarycontactid).toMatchObject({ contactid: contactId, fullname: 'Rene Valdes' })
    expect(renamed).toMatchObject({ name: 'Coho Vineyard & Winery' })
    await client.delete('accounts', account.accountid)
    await client.delete('contacts', contactId)
  })
})

describe('querying snippets', () => {
  it('escapes filter values and pages', async () => {
    const owner = (await client.whoAmI()).userId
    const hostile = "Bank' or name ne 'x"
    const { filter, page } = await filters(client, hostile, owner)
    expect(filter).toBe(
      `(contains(name, 'Bank'' or name ne ''x')) and (address1_city ne null) and (_ownerid_value eq ${owner})`,
    )
    expect(page.value).toEqual([])
    const safe = await filters(client, 'Bank', '')
    expect(safe.page.value.length).toBeGreaterThan(0)
    for (const a of safe.page.value) expect(a.name).toContain('Bank')

    const inCities = await aliased(client, ['Oslo', 'Redmond'])
    expect(inCities.value.length).toBeGreaterThan(0)
    for (const a of inCities.value) expect(['Oslo', 'Redmond']).toContain(a.address1_city)

    const { firstPage, secondPage } = await paging(client)
    expect(firstPage.value).toHaveLength(50)
    expect(secondPage?.value.length).toBeGreaterThan(0)
    expect(secondPage?.value[0]).not.toEqual(firstPage.value[0])
  })

  it('iterates every row, reads FetchXML pages and counts', async () => {
    const { all, inOslo } = await counting(client)
    expect(await everyRow(client)).toBe(all)
    const names = await fetchXml(client)
    expect(names).toHaveLength(inOslo)
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))

    const { page, pages } = await fetchXmlCount(client)
    expect(page.count).toBe(inOslo)
    expect(page.totalRecordCount).toBe(inOslo)
    expect(page.totalRecordCountLimitExceeded).toBe(false)
    expect(pages).toBe(Math.ceil(inOslo / 10))
  })
})

describe('batch snippets', () => {
  it('runs a change set with a Content-ID reference', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const results = await atomic(client)
    log.mockRestore()
    expect(results.map((r) => r.ok)).toEqual([true, true, true])
    const contact = results[1]
    if (!contact?.ok || !contact.id) throw new Error('the contact was not created')
    const row = await client.retrieve<{ _parentcustomerid_value: string }>('contacts', contact.id)
    expect(row._parentcustomerid_value).toBe(results[0]?.ok ? results[0].id : 'none')
  })

  it('rolls back a failing change set and runs the rest', async () => {
    const before = await client.count('accounts', { filter: "name eq 'Tailspin Toys'" })
    const { created, failed, independent } = await rolledBack(client, '00000000-0000-4000-8000-000000000001')
    expect(created).toMatchObject({ ok: false, error: { code: 'BATCH_ROLLED_BACK' } })
    expect(failed).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', status: 404 } })
    expect(independent).toMatchObject({ ok: true })
    expect(await client.count('accounts', { filter: "name eq 'Tailspin Toys'" })).toBe(before)
  })
})

describe('single-property batch snippet', () => {
  it('sets and clears columns, by id and by Content-ID in a change set', async () => {
    const id = await client.create('accounts', { name: 'Fabrikam', description: 'old' })
    const results = await singleProperties(client, id)
    expect(results.map((r) => r.ok && r.status)).toEqual([204, 204, 204, 204, 204])
    const select = ['name', 'description', 'telephone1']
    expect(await client.retrieve('accounts', id, { select })).toMatchObject({
      name: 'Fabrikam (renamed)',
      description: null,
    })
    const made = results[2]?.ok ? results[2].id : undefined
    expect(await client.retrieve('accounts', made as string, { select })).toMatchObject({
      name: 'Fabrikam Labs',
      description: null,
      telephone1: '555-0111',
    })
    await client.delete('accounts', id)
    await client.delete('accounts', made as string)
  })
})

describe('errors snippets', () => {
  it('maps a missing row to undefined and a missing application user to a clear error', async () => {
    expect(await findAccount(client, '00000000-0000-4000-8000-000000000002')).toBeUndefined()
    const existing = (await ids()).value[0]!.accountid
    expect(await findAccount(client, existing)).toHaveProperty('name')
    setup.emulator.admin.setApplicationUserDisabled(setup.contoso.orgId, setup.clientId, true)
    try {
      await expect(findAccount(client, existing)).rejects.toThrow(/may not read accounts/)
    } finally {
      setup.emulator.admin.setApplicationUserDisabled(setup.contoso.orgId, setup.clientId, false)
    }
  })

  it('builds a tuned client and queries with an abort signal', async () => {
    expect(tunedClient(setup.contoso.orgUrl).url).toBe(setup.contoso.orgUrl)
    expect((await withDeadline(client)).value).toHaveLength(10)
  })
})

describe('service protection snippets', () => {
  it('upserts in bulk through injected 429s and 503s without losing or duplicating a row', async () => {
    const tokens = createTokenProvider({
      clientId: setup.clientId,
      credential: clientSecret(setup.clientSecret),
      cloud: setup.cloud,
      http: { ca: setup.ca },
    })
    const getToken = async () =>
      (await tokens.getToken({ tenantId: setup.contoso.tenantId, resource: setup.contoso.orgUrl })).token
    const limited = limitedClient(setup.contoso.orgUrl, getToken, setup.ca)
    // Retry-After: 0 keeps the test off real time (the client's pause for Retry-After is tested in webapi).
    setup.emulator.admin.injectFault({ scope: 'dataverse', kind: '429', rate: 0.04, retryAfterSeconds: 0 })
    // Retry-After: 0 on both: that the client waits for Retry-After is webapi's own test; here no real time passes
    setup.emulator.admin.injectFault({
      scope: 'dataverse',
      kind: 'status',
      status: 503,
      rate: 0.05,
      retryAfterSeconds: 0,
    })
    try {
      await bulkUpsert(limited, 150)
      // every key once: none lost, none duplicated by a retried upsert
      const keys: string[] = []
      for await (const row of client.queryAll<{ accountnumber: string }>('accounts', {
        select: ['accountnumber'],
        filter: "startswith(accountnumber,'BULK-')",
      })) {
        keys.push(row.accountnumber)
      }
      expect(keys).toHaveLength(150)
      expect(new Set(keys).size).toBe(150)
      const fired = setup.emulator.admin.listFaults().map((f) => f.fired)
      expect(fired.every((n) => n > 0)).toBe(true) // the client really met 429s and 503s
    } finally {
      setup.emulator.admin.clearFaults()
    }
    expect(await client.count('accounts', { filter: "startswith(accountnumber, 'BULK-')" })).toBe(150)
  }, 120_000)
})

describe('impersonation snippets', () => {
  it('creates as Alice: createdby is Alice, createdonbehalfby the application user', async () => {
    const appUser = (await client.whoAmI()).userId
    const { row, page } = await asUser(client, defaultIds.users.contosoAlice)
    expect(row._createdonbehalfby_value).toBe(appUser)
    expect(row._createdby_value).not.toBe(appUser)
    const alice = await client.query<{ systemuserid: string }>('systemusers', {
      select: ['systemuserid'],
      filter: `azureactivedirectoryobjectid eq ${defaultIds.users.contosoAlice}`,
    })
    expect(row._createdby_value).toBe(alice.value[0]?.systemuserid)
    expect(page.value).toHaveLength(5)
  })

  it('is refused for a user without the privilege', async () => {
    await expect(asUser(client, defaultIds.users.contosoBob)).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })
})
