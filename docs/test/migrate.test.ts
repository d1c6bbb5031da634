import type * as HttpsModule from 'node:https'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { clientSecret, createTokenProvider } from '@dataverse-s2s/core'
import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'
import { type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'
import type { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientFor } from '../snippets/client.ts'
import * as after from '../snippets/migrate/dataverse-s2s.ts'
import * as before from '../snippets/migrate/dynamics-web-api.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

// Every pair of snippets on the migration page runs here, dynamics-web-api's side and ours, against the same org of
// the emulator, and each pair must produce the same data.
const https = createRequire(import.meta.url)('node:https') as typeof HttpsModule
const OriginalAgent = https.Agent
let setup: Setup
let client: DataverseClient
let dwa: DynamicsWebApi

beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  client = clientFor(setup, setup.contoso)
  // dynamics-web-api sends with its own https.Agent; making that Agent trust the emulator's CA is the in-process
  // equivalent of NODE_EXTRA_CA_CERTS (as in the emulator's own dynamics-web-api test).
  const ca = setup.ca
  ;(https as { Agent: typeof HttpsModule.Agent }).Agent = class extends OriginalAgent {
    constructor(options?: HttpsModule.AgentOptions) {
      super({ ...options, ca })
    }
  }
  syncBuiltinESMExports()
  const tokens = createTokenProvider({
    clientId: setup.clientId,
    credential: clientSecret(setup.clientSecret),
    cloud: setup.cloud,
    http: { ca },
  })
  const { tenantId, orgUrl } = setup.contoso
  dwa = before.connect(orgUrl, async () => (await tokens.getToken({ tenantId, resource: orgUrl })).token)
})

afterAll(async () => {
  ;(https as { Agent: typeof HttpsModule.Agent }).Agent = OriginalAgent
  syncBuiltinESMExports()
  await setup?.emulator.stop()
})

const insertAccounts = (city: string, n: number, prefix: string) =>
  setup.emulator.admin.insertRows(
    setup.contoso.orgId,
    'account',
    Array.from({ length: n }, (_, i) => ({
      name: `${prefix} ${String(i).padStart(3, '0')}`,
      address1_city: city,
    })),
  )

const parentOf = async (contactId: string) =>
  (
    await client.retrieve<{ _parentcustomerid_value: string | null }>('contacts', contactId, {
      select: ['_parentcustomerid_value'],
    })
  )._parentcustomerid_value

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('migrating from dynamics-web-api: both sides give the same data', () => {
  it('connects as the same application user and calls the same functions', async () => {
    const theirs = await before.functions(dwa)
    const ours = await after.functions(client)
    expect(theirs.userId).toMatch(GUID)
    expect(ours.userId).toBe(theirs.userId)
    expect(ours.counts.EntityRecordCountCollection).toEqual(theirs.counts.EntityRecordCountCollection)
    expect(ours.counts.EntityRecordCountCollection).toMatchObject({ Keys: ['account'] })
  })

  it('creates, retrieves, updates, upserts by an alternate key with a quote in it, and deletes', async () => {
    const theirs = await before.records(dwa, "MIG-O'DWA")
    const ours = await after.records(client, "MIG-O'S2S")
    const shape = (r: typeof ours) => ({ name: r.account.name, city: r.account.address1_city })
    expect(shape(ours)).toEqual({ name: 'Fourth Coffee', city: 'Seattle' })
    expect(shape(theirs)).toEqual(shape(ours))
    for (const [r, key] of [
      [theirs, "MIG-O'DWA"],
      [ours, "MIG-O'S2S"],
    ] as const) {
      expect(r.accountId).toMatch(GUID)
      await expect(client.retrieve('accounts', r.accountId)).rejects.toMatchObject({ code: 'NOT_FOUND' })
      const upserted = await client.retrieve<{ accountid: string; name: string }>(
        'accounts',
        { accountnumber: key },
        { select: ['accountid', 'name'] },
      )
      expect(upserted).toMatchObject({ accountid: r.upsertedId, name: 'Litware, Inc.' })
    }
  })

  it('reads every row of a filtered query across pages, and counts them', async () => {
    insertAccounts("O'Fallon", 250, 'Paged')
    const theirs: string[] = []
    const ours: string[] = []
    const theirTotal = await before.everyAccount(dwa, "O'Fallon", (a) => theirs.push(a.name))
    const ourTotal = await after.everyAccount(client, "O'Fallon", (a) => ours.push(a.name))
    expect(ours).toHaveLength(250)
    expect(new Set(ours).size).toBe(250)
    expect(ours).toEqual([...ours].sort())
    expect(theirs).toEqual(ours)
    expect(ourTotal).toBe(250)
    expect(theirTotal).toBe(ourTotal)
  })

  it('reads every row of a FetchXML query across paging cookies', async () => {
    insertAccounts('Springfield', 230, 'Fetched')
    const theirs: string[] = []
    const ours: string[] = []
    await before.fetchAccounts(dwa, (a) => theirs.push(a.name))
    await after.fetchAccounts(client, (a) => ours.push(a.name))
    expect(ours).toHaveLength(230)
    expect(new Set(ours).size).toBe(230)
    expect(theirs).toEqual(ours)
  })

  it('associates and disassociates a contact and an account', async () => {
    for (const side of [before, after] as const) {
      const accountId = await client.create('accounts', { name: 'Linked account' })
      const contactId = await client.create('contacts', { firstname: 'Linked', lastname: 'Contact' })
      if (side === before) await before.link(dwa, accountId, contactId)
      else await after.link(client, accountId, contactId)
      expect(await parentOf(contactId)).toBe(accountId)
      if (side === before) await before.unlink(dwa, accountId, contactId)
      else await after.unlink(client, accountId, contactId)
      expect(await parentOf(contactId)).toBeNull()
    }
  })

  it('runs a change set whose contact refers to the account created before it', async () => {
    const rows = []
    for (const result of [await before.batch(dwa), await after.batch(client)]) {
      expect(result.accountId).toMatch(GUID)
      expect(result.contactId).toMatch(GUID)
      expect(await parentOf(result.contactId as string)).toBe(result.accountId)
      rows.push(
        await client.retrieve<{ name: string }>('accounts', result.accountId as string, { select: ['name'] }),
      )
    }
    expect(rows[0]?.name).toBe('Coho Winery')
    expect(rows[1]?.name).toBe(rows[0]?.name)
  })

  it('creates on behalf of the same user', async () => {
    const appUser = (await client.whoAmI()).userId
    const createdBy = async (id: string) =>
      await client.retrieve<{ _createdby_value: string; _createdonbehalfby_value: string }>('accounts', id, {
        select: ['_createdby_value', '_createdonbehalfby_value'],
      })
    const theirs = await createdBy(await before.impersonated(dwa, defaultIds.users.contosoAlice))
    const ours = await createdBy(await after.impersonated(client, defaultIds.users.contosoAlice))
    expect(ours._createdby_value).not.toBe(appUser)
    expect(ours._createdonbehalfby_value).toBe(appUser)
    expect(theirs._createdby_value).toBe(ours._createdby_value)
    expect(theirs._createdonbehalfby_value).toBe(ours._createdonbehalfby_value)
  })

  it('maps a missing row to undefined; their error code is our serviceCode', async () => {
    const missing = '00000000-0000-4000-8000-00000000beef'
    expect(await before.findAccount(dwa, missing)).toBeUndefined()
    expect(await after.findAccount(client, missing)).toBeUndefined()
    const existing = await client.create('accounts', { name: 'Found' })
    expect((await before.findAccount(dwa, existing))?.name).toBe('Found')
    expect((await after.findAccount(client, existing))?.name).toBe('Found')

    const theirError = await dwa.retrieve({ collection: 'accounts', key: missing }).catch((e: unknown) => e)
    const ourError = await client.retrieve('accounts', missing).catch((e: unknown) => e)
    if (!isDataverseError(ourError)) throw ourError
    expect(ourError).toMatchObject({ code: 'NOT_FOUND', status: 404, serviceCode: '0x80040217' })
    expect(theirError).toMatchObject({ status: ourError.status, code: ourError.serviceCode })
  })

  it('gets through 429s: by hand with dynamics-web-api, by itself with ours', async () => {
    const { admin } = setup.emulator
    // Retry-After: 0 so that neither side waits in real time; that each honours Retry-After is tested in webapi.
    const throttle = () =>
      admin.injectFault({ scope: 'dataverse', kind: '429', next: 2, retryAfterSeconds: 0 })
    // A `next: 2` rule is removed once it has answered two requests: an empty list means both 429s were served.
    const pending = () => admin.listFaults()
    try {
      // Without the hand-written retry, dynamics-web-api hands the 429 to the caller.
      throttle()
      await expect(
        dwa.retrieveMultiple({ collection: 'accounts', select: ['name'], top: 5 }),
      ).rejects.toMatchObject({
        status: 429,
      })
      admin.clearFaults()

      throttle()
      const theirs = (await before.firstAccounts(dwa)).map((a) => a.name)
      expect(pending()).toEqual([])
      throttle()
      const ours = (await after.firstAccounts(client)).map((a) => a.name)
      expect(pending()).toEqual([])
      expect(ours).toHaveLength(5)
      expect(theirs).toEqual(ours)
    } finally {
      admin.clearFaults()
    }
  }, 30_000)
})
