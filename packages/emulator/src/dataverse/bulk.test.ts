import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_BULK_TARGETS } from './bulk.ts'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'
const json = { 'Content-Type': 'application/json' }
type Env = Awaited<ReturnType<typeof setup>>

let env: Env
beforeAll(async () => {
  env = await setup({ seed: { sampleData: false } })
})

const account = (fields: Record<string, unknown>) => ({
  '@odata.type': 'Microsoft.Dynamics.CRM.account',
  ...fields,
})

function bulk(
  message: string,
  targets: unknown,
  init: { token?: string; headers?: Record<string, string> } = {},
) {
  return env.request(`${API}/accounts/Microsoft.Dynamics.CRM.${message}`, {
    method: 'POST',
    headers: { ...json, ...init.headers },
    ...(init.token ? { token: init.token } : {}),
    body: typeof targets === 'string' ? targets : JSON.stringify({ Targets: targets }),
  })
}

async function accountsNamed(prefix: string): Promise<Record<string, unknown>[]> {
  const res = await env.request(
    `${API}/accounts?$select=name,accountnumber,_createdby_value,_createdonbehalfby_value&$filter=startswith(name,'${prefix}')&$orderby=name`,
  )
  return ((await res.json()) as { value: Record<string, unknown>[] }).value
}

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error

describe('CreateMultiple', () => {
  it('creates every target and answers 200 with the ids in target order', async () => {
    const res = await bulk('CreateMultiple', [
      account({ name: 'cm-1', accountnumber: 'CM-1' }),
      account({ name: 'cm-2', accountnumber: 'CM-2' }),
      account({ name: 'cm-3' }),
    ])
    expect(res.status).toBe(200)
    const body = (await res.json()) as { '@odata.context': string; Ids: string[] }
    expect(body['@odata.context']).toBe(
      'https://localhost:8444/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse',
    )
    expect(body.Ids).toHaveLength(3)
    for (const [i, id] of body.Ids.entries()) {
      const row = (await (await env.request(`${API}/accounts(${id})?$select=name`)).json()) as {
        name: string
      }
      expect(row.name).toBe(`cm-${i + 1}`)
    }
  })

  it('rolls every target back when one fails, and answers with that failure', async () => {
    const res = await bulk('CreateMultiple', [
      account({ name: 'rb-1' }),
      account({ name: 'rb-2', accountnumber: 'CM-1' }), // duplicate alternate key
      account({ name: 'rb-3' }),
    ])
    expect(res.status).toBe(412)
    expect((await errorOf(res)).code).toBe('0x80040237')
    expect(await accountsNamed('rb-')).toEqual([])
    const bad = await bulk('CreateMultiple', [
      account({ name: 'rb-4' }),
      account({ name: 'rb-5', nosuchcolumn: 1 }),
    ])
    expect(bad.status).toBe(400)
    expect(await accountsNamed('rb-')).toEqual([])
  })

  it('applies impersonation and privileges to every target', async () => {
    const appUser = await env.whoAmI()
    const alice = await env.whoAmI({ headers: { CallerObjectId: ids.users.contosoAlice } })
    const res = await bulk('CreateMultiple', [account({ name: 'imp-1' }), account({ name: 'imp-2' })], {
      headers: { CallerObjectId: ids.users.contosoAlice },
    })
    expect(res.status).toBe(200)
    const rows = await accountsNamed('imp-')
    expect(rows.map((r) => [r._createdby_value, r._createdonbehalfby_value])).toEqual([
      [alice, appUser],
      [alice, appUser],
    ])
    // Basic User (Alice) may not create roles: the whole request is refused with the privilege named
    const aliceToken = await env.userToken(ids.users.contosoAlice)
    const denied = await env.request(`${API}/roles/Microsoft.Dynamics.CRM.CreateMultiple`, {
      method: 'POST',
      token: aliceToken,
      headers: json,
      body: JSON.stringify({ Targets: [{ '@odata.type': 'Microsoft.Dynamics.CRM.role', name: 'x' }] }),
    })
    expect(denied.status).toBe(403)
    expect((await errorOf(denied)).message).toContain('prvCreateRole')
  })
})

describe('UpdateMultiple', () => {
  it('updates by primary key or @odata.id, answers 204, and never creates', async () => {
    const created = (await (
      await bulk('CreateMultiple', [
        account({ name: 'um-a', accountnumber: 'UM-A' }),
        account({ name: 'um-b' }),
      ])
    ).json()) as { Ids: string[] }
    const [a, b] = created.Ids as [string, string]
    const res = await bulk('UpdateMultiple', [
      account({ '@odata.id': "accounts(accountnumber='UM-A')", name: 'um-a2' }),
      account({ accountid: b, name: 'um-b2' }),
    ])
    expect(res.status).toBe(204)
    expect((await accountsNamed('um-')).map((r) => r.name)).toEqual(['um-a2', 'um-b2'])
    const missing = await bulk('UpdateMultiple', [
      account({ accountid: a, name: 'um-a3' }),
      account({ accountid: '00000000-0000-4000-8000-000000000001', name: 'ghost' }),
    ])
    expect(missing.status).toBe(404)
    expect((await errorOf(missing)).code).toBe('0x80040217')
    expect((await accountsNamed('um-')).map((r) => r.name)).toEqual(['um-a2', 'um-b2'])
    const unnamed = await bulk('UpdateMultiple', [account({ name: 'no key' })])
    expect(unnamed.status).toBe(400)
    expect((await errorOf(unnamed)).message).toContain('accountid')
  })
})

describe('UpsertMultiple', () => {
  it('creates or updates by alternate key, is idempotent, and answers 204', async () => {
    const targets = [
      account({ '@odata.id': "accounts(accountnumber='UP-1')", name: 'up-1' }),
      account({ '@odata.id': "accounts(accountnumber='UP-2')", name: 'up-2' }),
    ]
    expect((await bulk('UpsertMultiple', targets)).status).toBe(204)
    const first = await accountsNamed('up-')
    expect(first.map((r) => [r.name, r.accountnumber])).toEqual([
      ['up-1', 'UP-1'],
      ['up-2', 'UP-2'],
    ])
    expect((await bulk('UpsertMultiple', targets)).status).toBe(204)
    const second = await accountsNamed('up-')
    expect(second.map((r) => r.accountid)).toEqual(first.map((r) => r.accountid))
    const id = '22222222-3333-4444-8555-666666666666'
    expect((await bulk('UpsertMultiple', [account({ accountid: id, name: 'up-3' })])).status).toBe(204)
    expect((await bulk('UpsertMultiple', [account({ accountid: id, name: 'up-3b' })])).status).toBe(204)
    const byId = (await (await env.request(`${API}/accounts(${id})?$select=name`)).json()) as { name: string }
    expect(byId.name).toBe('up-3b')
  })

  it('refuses an @odata.id of another table or one that disagrees with the primary key', async () => {
    const other = await bulk('UpsertMultiple', [
      account({ '@odata.id': "contacts(emailaddress1='x')", name: 'x' }),
    ])
    expect(other.status).toBe(400)
    const twice = await bulk('UpsertMultiple', [
      account({
        '@odata.id': '/accounts(33333333-3333-4444-8555-666666666666)',
        accountid: '44444444-3333-4444-8555-666666666666',
      }),
    ])
    expect(twice.status).toBe(400)
  })
})

describe('bad bulk input', () => {
  it.each([
    ['no body', ''],
    ['not JSON', '{'],
    ['no Targets', '{}'],
    ['Targets not an array', '{"Targets":{"name":"x"}}'],
    ['an empty Targets', '{"Targets":[]}'],
    ['a target that is not an object', '{"Targets":[1]}'],
    ['a target without @odata.type', '{"Targets":[{"name":"x"}]}'],
    ['a target of another type', '{"Targets":[{"@odata.type":"Microsoft.Dynamics.CRM.contact","name":"x"}]}'],
    ['an unknown parameter', '{"Targets":[{"@odata.type":"Microsoft.Dynamics.CRM.account"}],"Other":1}'],
  ])('answers %s with a Dataverse-shaped 400', async (_, body) => {
    for (const message of ['CreateMultiple', 'UpdateMultiple', 'UpsertMultiple']) {
      const res = await bulk(message, body)
      expect(res.status).toBe(400)
      const error = await errorOf(res)
      expect(error.code).toMatch(/^0x[0-9a-f]+$/)
      expect(error.message.length).toBeGreaterThan(10)
    }
  })

  it('refuses more targets than it takes with 413, and other methods with 404', async () => {
    const many = Array.from({ length: MAX_BULK_TARGETS + 1 }, () => account({ name: 'too many' }))
    const res = await bulk('CreateMultiple', many)
    expect(res.status).toBe(413)
    expect((await errorOf(res)).message).toContain(String(MAX_BULK_TARGETS))
    expect(await accountsNamed('too many')).toEqual([])
    const get = await env.request(`${API}/accounts/Microsoft.Dynamics.CRM.CreateMultiple`)
    expect(get.status).toBe(404)
  })

  // Learn, "Use Web API actions" § Bound actions: without the namespace Dataverse answers 400 "Request message has
  // unresolved parameters"; so does the emulator, for the bulk messages and RetrieveUserPrivileges
  it('refuses a bound operation called without its namespace with 400, creating nothing', async () => {
    const res = await env.request(`${API}/accounts/CreateMultiple`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ Targets: [account({ name: 'unqualified' })] }),
    })
    expect(res.status).toBe(400)
    expect((await errorOf(res)).message).toContain('Request message has unresolved parameters')
    expect(await accountsNamed('unqualified')).toEqual([])
    const who = await env.whoAmI()
    const privileges = await env.request(`${API}/systemusers(${who})/RetrieveUserPrivileges()`)
    expect(privileges.status).toBe(400)
    expect((await errorOf(privileges)).message).toContain('Microsoft.Dynamics.CRM.RetrieveUserPrivileges')
  })

  it('counts a bulk request as one request for service protection', async () => {
    const own = await setup({ seed: { sampleData: false } })
    own.org.setLimits({ requestsPerWindow: 2 })
    const send = () =>
      own.request(`${API}/accounts/Microsoft.Dynamics.CRM.CreateMultiple`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ Targets: Array.from({ length: 50 }, (_, i) => account({ name: `sp-${i}` })) }),
      })
    expect((await send()).status).toBe(200)
    expect((await send()).status).toBe(200)
    const third = await send()
    expect(third.status).toBe(429)
    expect((await errorOf(third)).code).toBe('0x80072322')
  })
})
