import { beforeAll, describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

// Query functions through the Web API, in the forms Microsoft Learn shows ("Use Web API functions": inline parameters
// and parameter aliases): the emulator's clock is "now", and the calling (or impersonated) user decides whose id,
// business unit and time zone the functions use.

const API = '/api/data/v9.2'
const CRM = 'Microsoft.Dynamics.CRM.'
const DAY = 86_400_000
let env: Awaited<ReturnType<typeof setup>>
let alice: string

beforeAll(async () => {
  env = await setup({ seed: { sampleData: false } })
  alice = await env.whoAmI({ headers: { CallerObjectId: ids.users.contosoAlice } })
  const now = env.world.clock.now()
  env.org.data.insertRows('contact', [
    { firstname: 'Recent', birthdate: new Date(now - 2 * DAY).toISOString() },
    { firstname: 'Old', birthdate: new Date(now - 30 * DAY).toISOString() },
    // 16:00 UTC on 13 March 2024 is 01:00 on 14 March in Tokyo
    { firstname: 'Tokyo', birthdate: '2024-03-13T16:00:00Z' },
  ])
})

async function names(query: string, headers: Record<string, string> = {}): Promise<string[]> {
  const res = await env.request(`${API}/${query}`, { headers })
  expect(res.status, await res.clone().text()).toBe(200)
  const rows = ((await res.json()) as { value: Record<string, unknown>[] }).value
  return rows.map((r) => String(r.firstname ?? r.name ?? r.fullname)).sort()
}

describe('date query functions over HTTP', () => {
  it('LastXDays and OlderThanXDays count from the emulator clock, inline or through aliases', async () => {
    const last = `${CRM}LastXDays(PropertyName=@p1,PropertyValue=@p2)&@p1='birthdate'&@p2=7`
    expect(await names(`contacts?$select=firstname&$filter=${last}`)).toEqual(['Recent'])
    const older = `${CRM}OlderThanXDays(PropertyName='birthdate',PropertyValue=7)`
    expect(await names(`contacts?$select=firstname&$filter=${older}`)).toEqual(['Old', 'Tokyo'])
    // rows are stamped createdon by the emulator clock
    const created = `${CRM}LastXHours(PropertyName='createdon',PropertyValue=1)`
    expect(await names(`contacts?$select=firstname&$filter=${created}`)).toEqual(['Old', 'Recent', 'Tokyo'])
  })

  it('work inside $apply=filter(…)', async () => {
    const res = await env.request(
      `${API}/contacts?$apply=filter(${CRM}LastXDays(PropertyName='birthdate',PropertyValue=7))/aggregate($count as n)`,
    )
    expect(res.status, await res.clone().text()).toBe(200)
    expect(((await res.json()) as { value: { n: number }[] }).value[0]?.n).toBe(1)
  })

  it("take day boundaries in the user's time zone from their usersettings", async () => {
    const on = `contacts?$select=firstname&$filter=${CRM}On(PropertyName='birthdate',PropertyValue='2024-03-14')`
    expect(await names(on)).toEqual([])
    env.org.data.insertRows('usersettings', [{ systemuserid: alice, timezonecode: 235 }])
    expect(await names(on, { MSCRMCallerID: alice })).toEqual(['Tokyo'])
  })

  it('answer a 400 in the OData error shape for a column of the wrong type, an unknown column or a bad X', async () => {
    const error = async (filter: string) => {
      const res = await env.request(`${API}/contacts?$filter=${encodeURIComponent(filter)}`)
      expect(res.status, filter).toBe(400)
      return ((await res.json()) as { error: { code: string; message: string } }).error
    }
    expect(await error(`${CRM}LastXDays(PropertyName='firstname',PropertyValue=7)`)).toEqual({
      code: '0x80060888',
      message:
        "The query function Microsoft.Dynamics.CRM.LastXDays applies to a date and time column; 'firstname' is of type 'Edm.String'.",
    })
    expect((await error(`${CRM}Today(PropertyName='nope')`)).message).toBe(
      "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.contact'.",
    )
    expect((await error(`${CRM}LastXDays(PropertyName='birthdate',PropertyValue=1.5)`)).message).toContain(
      'Microsoft.Dynamics.CRM.LastXDays takes PropertyName and PropertyValue (a whole number).',
    )
    expect((await error(`${CRM}Under(PropertyName='accountid',PropertyValue='x')`)).message).toContain(
      'The emulator does not emulate the query function Microsoft.Dynamics.CRM.Under;',
    )
  })
})

describe('user and business unit query functions over HTTP', () => {
  it('EqualUserId is the impersonated user when the call impersonates, the application user otherwise', async () => {
    const create = (name: string, headers: Record<string, string> = {}) =>
      env.request(`${API}/accounts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ name }),
      })
    expect((await create('Owned by Alice', { MSCRMCallerID: alice })).status).toBe(204)
    expect((await create('Owned by the app')).status).toBe(204)
    const mine = `accounts?$select=name&$filter=${CRM}EqualUserId(PropertyName='ownerid')`
    expect(await names(mine, { MSCRMCallerID: alice })).toEqual(['Owned by Alice'])
    expect(await names(mine)).toEqual(['Owned by the app'])
    const others = `accounts?$select=name&$filter=${CRM}NotEqualUserId(PropertyName='ownerid')`
    expect(await names(others)).toEqual(['Owned by Alice'])
  })

  it("EqualBusinessId is the calling user's business unit", async () => {
    const who = (await (await env.request(`${API}/WhoAmI`)).json()) as { BusinessUnitId: string }
    const res = await env.request(
      `${API}/systemusers?$select=_businessunitid_value&$filter=${CRM}EqualBusinessId(PropertyName='businessunitid')`,
    )
    const rows = ((await res.json()) as { value: { _businessunitid_value: string }[] }).value
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) expect(r._businessunitid_value).toBe(who.BusinessUnitId)
    const elsewhere = await env.request(
      `${API}/systemusers?$select=_businessunitid_value&$filter=${CRM}NotEqualBusinessId(PropertyName='businessunitid')`,
    )
    for (const r of ((await elsewhere.json()) as { value: { _businessunitid_value: string }[] }).value)
      expect(r._businessunitid_value).not.toBe(who.BusinessUnitId)
  })
})
