import { describe, expect, it } from 'vitest'
import { createOrg } from './index.ts'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'
const json = { 'Content-Type': 'application/json' }

describe('org lifecycle', () => {
  it('restores a snapshot into a new runtime with the same rows, users, roles and versions', async () => {
    const env = await setup({ seed: { sampleData: { accounts: 3, contacts: 2 } } })
    const [id] = env.org.data.insertRows('account', [{ name: 'Persisted', accountnumber: 'P-1' }])
    const snapshot = JSON.parse(JSON.stringify(env.org.snapshot())) as unknown
    const info = env.world.getOrg(ids.contosoOrgId)
    if (!info) throw new Error('org')
    const restored = createOrg({
      world: env.world,
      org: info,
      faults: env.faults,
      counters: env.counters,
      snapshot,
    })
    expect(restored.data.count('account')).toBe(4)
    const token = await env.appToken()
    const res = await restored.app.request(`${env.url}${API}/accounts(accountnumber='P-1')?$select=name`, {
      headers: { Authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { accountid: string }).accountid).toBe(id)
    // the app user keeps its role: writes still allowed
    const created = await restored.app.request(`${env.url}${API}/accounts`, {
      method: 'POST',
      headers: { ...json, Authorization: `Bearer ${token}` },
      body: '{"name":"after restore"}',
    })
    expect(created.status).toBe(204)
    expect(() =>
      createOrg({
        world: env.world,
        org: info,
        faults: env.faults,
        counters: env.counters,
        snapshot: { version: 9 },
      }),
    ).toThrow(/restored/)
  })

  it('resets to the seed', async () => {
    const env = await setup({ seed: { sampleData: { accounts: 2, contacts: 0 } } })
    env.org.data.insertRows('accounts', [{ name: 'temporary' }])
    expect(env.org.data.count('account')).toBe(3)
    env.org.reset()
    expect(env.org.data.count('account')).toBe(2)
    expect((await env.request(`${API}/WhoAmI`)).status).toBe(200)
  })

  it('applies injected faults scoped to the org and counts requests per caller and status', async () => {
    const env = await setup({ seed: { sampleData: false } })
    env.faults.add({ scope: ids.contosoOrgId, kind: 'status', status: 503, next: 1 })
    const failed = await env.request(`${API}/WhoAmI`)
    expect(failed.status).toBe(503)
    expect(((await failed.json()) as { error: { code: string } }).error.code).toMatch(/^0x/)
    expect((await env.request(`${API}/WhoAmI`)).status).toBe(200)
    expect((await env.request(`${API}/WhoAmI`, { token: null })).status).toBe(401)
    const counts = env.counters.read().dataverseRequests
    expect(counts.find((c) => c.status === 200)?.callerId).toMatch(/^[0-9a-f-]{36}$/)
    expect(counts.find((c) => c.status === 401)?.callerId).toBe('anonymous')
  })

  it('creates application users and system users through the data API', async () => {
    const env = await setup({ seed: { sampleData: false, systemUsers: [] } })
    // no application user was seeded, so the consented app is not a member yet
    expect((await env.request(`${API}/WhoAmI`)).status).toBe(403)
    const id = env.org.data.createApplicationUser(ids.multiTenantAppId, ['Dataverse S2S Connector'])
    expect(env.org.data.createApplicationUser(ids.multiTenantAppId, [])).toBe(id)
    expect(await env.whoAmI()).toBe(id)
    const user = env.world.getUser(ids.users.contosoBob)
    if (!user) throw new Error('bob')
    const bob = env.org.data.ensureSystemUserForUser(user, ['Basic User'])
    const bobToken = await env.userToken(ids.users.contosoBob)
    expect(await env.whoAmI({ token: bobToken })).toBe(bob)
    const usersBefore = env.org.data.count('systemuser')
    expect(() => env.org.data.createApplicationUser(ids.singleTenantAppId, ['No Such Role'])).toThrow(
      /No Such Role/,
    )
    expect(env.org.data.count('systemuser')).toBe(usersBefore)
    expect(() => env.org.data.ensureSystemUserForUser(user, ['No Such Role'])).toThrow(/No Such Role/)
    expect(() => env.org.data.insertRows('nope', [{}])).toThrow(/no table/)
    expect(() => env.org.data.insertRows('account', [{ name: 1 }])).toThrow(/Edm.String/)
  })

  it('serves the service document and $metadata', async () => {
    const env = await setup({ seed: { sampleData: false } })
    const doc = (await (await env.request(`${API}/`)).json()) as { value: { name: string }[] }
    expect(doc.value.map((v) => v.name)).toEqual(
      expect.arrayContaining(['accounts', 'contacts', 'systemusers', 'roles', 'businessunits']),
    )
    const meta = await env.request(`${API}/$metadata`)
    expect(meta.headers.get('content-type')).toContain('application/xml')
    const xml = await meta.text()
    expect(xml).toContain('<EntitySet Name="accounts" EntityType="mscrm.account"/>')
    expect(xml).toContain(
      '<NavigationProperty Name="systemuserroles_association" Type="Collection(mscrm.role)"/>',
    )
  })

  it('answers CORS preflights and exposes the Dataverse headers to a single-page app', async () => {
    const env = await setup({ seed: { sampleData: false } })
    const preflight = await env.request(`${API}/accounts`, {
      method: 'OPTIONS',
      token: null,
      headers: {
        Origin: 'http://localhost:5173',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,prefer',
      },
    })
    expect(preflight.status).toBe(200)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,content-type,prefer')
    const res = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: { ...json, Origin: 'http://localhost:5173' },
      body: '{"name":"spa"}',
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
    expect(res.headers.get('access-control-expose-headers')).toContain('OData-EntityId')
    const unauth = await env.request(`${API}/WhoAmI`, {
      token: null,
      headers: { Origin: 'http://localhost:5173' },
    })
    expect(unauth.status).toBe(401)
    expect(unauth.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate')
  })
})
