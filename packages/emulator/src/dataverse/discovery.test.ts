import { beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, defaultSeed } from '../world/default-seed.ts'
import { createWorld, type World } from '../world/world.ts'
import { createDiscoveryApp } from './discovery.ts'
import { isSystemAdministrator } from './index.ts'
import { setup } from './test-support.ts'

// The Global Discovery Service (Learn: "Discover user organizations", "Discover the URL for your organization").
const GDS = 'https://globaldisco.crm.dynamics.com'
let world: World
let app: ReturnType<typeof createDiscoveryApp>
let token: string
beforeAll(async () => {
  world = await createWorld(defaultSeed(), { authorityUrl: 'https://localhost:8443' })
  app = createDiscoveryApp(world)
  for (const [id, port] of [
    [defaultIds.contosoOrgId, 8444],
    [defaultIds.fabrikamOrgId, 8445],
  ] as const) {
    const org = world.getOrg(id)
    if (org) org.url = `https://localhost:${port}`
  }
  token = await world.mintUserAccessToken({
    userObjectId: defaultIds.users.contosoAdmin,
    appId: defaultIds.multiTenantAppId,
    resource: GDS,
  })
})
const get = (path: string, bearer = token) =>
  app.request(`https://localhost:8443/api/discovery/v2.0/${path}`, {
    headers: { Authorization: `Bearer ${bearer}` },
  })
const body = async (r: Response) =>
  (await r.json()) as { value: Record<string, unknown>[]; error?: { message: string } }

describe('Global Discovery Service', () => {
  it("lists the user's tenant's instances with the documented properties, $select narrowing them", async () => {
    const all = await body(await get('Instances'))
    expect(all.value).toHaveLength(1)
    expect(all.value[0]).toMatchObject({
      Id: defaultIds.contosoOrgId,
      UniqueName: 'contoso',
      FriendlyName: 'Contoso (Production)',
      State: 0,
      TenantId: defaultIds.contosoTenantId,
      Version: '9.2.0.0',
      Region: 'NA',
    })
    expect(Object.keys(all.value[0] ?? {})).toEqual(
      expect.arrayContaining(['ApiUrl', 'Url', 'UrlName', 'LastUpdated', 'EnvironmentId']),
    )
    const res = await get('Instances?$select=ApiUrl,FriendlyName')
    const narrow = (await res.json()) as Record<string, unknown> & { value: unknown[] }
    expect(narrow['@odata.context']).toBe(
      'https://localhost:8443/api/discovery/v2.0/$metadata#Instances(ApiUrl,FriendlyName)',
    )
    expect(narrow.value).toEqual([
      { ApiUrl: world.getOrg(defaultIds.contosoOrgId)?.url, FriendlyName: 'Contoso (Production)' },
    ])
  })

  it('filters by key (always an array) and by $filter, case-sensitively', async () => {
    expect((await body(await get("Instances(UniqueName='contoso')"))).value).toHaveLength(1)
    expect((await body(await get(`Instances(${defaultIds.contosoOrgId})`))).value).toHaveLength(1)
    expect((await body(await get("Instances(Region='EU')"))).value).toEqual([])
    expect((await body(await get("Instances?$filter=Region eq 'NA' and State eq 0"))).value).toHaveLength(1)
    expect((await body(await get("Instances?$filter=contains(FriendlyName,'contoso')"))).value).toEqual([])
    expect((await get('Instances?$filter=Nope eq 1')).status).toBe(400)
  })

  it('refuses an app-only token, another audience and no token with 401 and a bearer challenge', async () => {
    const appOnly = await world.mintAppToken({
      tenantId: defaultIds.contosoTenantId,
      appId: defaultIds.multiTenantAppId,
      resource: GDS,
    })
    const r = await get('Instances', appOnly)
    expect(r.status).toBe(401)
    expect((await body(r)).error?.message).toContain('app-only')
    expect(r.headers.get('www-authenticate')).toContain(`resource_id=${GDS}`)
    const orgToken = await world.mintUserAccessToken({
      userObjectId: defaultIds.users.contosoAdmin,
      appId: defaultIds.multiTenantAppId,
      resource: world.getOrg(defaultIds.contosoOrgId)?.url as string,
    })
    expect((await get('Instances', orgToken)).status).toBe(401)
    expect((await app.request('https://localhost:8443/api/discovery/v2.0/Instances')).status).toBe(401)
  })
})

describe('IsUserSysAdmin', () => {
  it('is true only for a user whose enabled system user in that org holds System Administrator', async () => {
    const { world: w, org } = await setup()
    const gds = createDiscoveryApp(w, (orgId, objectId) =>
      orgId === defaultIds.contosoOrgId ? isSystemAdministrator(org, objectId) : false,
    )
    const flag = async (userObjectId: string) => {
      const bearer = await w.mintUserAccessToken({
        userObjectId,
        appId: defaultIds.multiTenantAppId,
        resource: GDS,
      })
      const res = await gds.request('https://localhost:8443/api/discovery/v2.0/Instances', {
        headers: { Authorization: `Bearer ${bearer}` },
      })
      return ((await res.json()) as { value: { IsUserSysAdmin: boolean }[] }).value.map(
        (i) => i.IsUserSysAdmin,
      )
    }
    expect(await flag(defaultIds.users.contosoAdmin)).toEqual([true]) // seeded with System Administrator
    expect(await flag(defaultIds.users.contosoAlice)).toEqual([false]) // Basic User
    expect(await flag(defaultIds.users.contosoBob)).toEqual([false]) // no role
    const bob = w.getUser(defaultIds.users.contosoBob)
    if (!bob) throw new Error('the default seed has Bob')
    org.data.ensureSystemUserForUser(bob, ['System Administrator'])
    expect(await flag(defaultIds.users.contosoBob)).toEqual([true])
    // an Entra user with no system user in the org, and another org's runtime, are never administrators there
    expect(isSystemAdministrator(org, defaultIds.users.fabrikamAdmin)).toBe(false)
  })

  it('is false for a system user that holds the role but is disabled', async () => {
    const { org, request, whoAmI, userToken } = await setup()
    expect(isSystemAdministrator(org, defaultIds.users.contosoAdmin)).toBe(true)
    const adminId = await whoAmI({ token: await userToken(defaultIds.users.contosoAdmin) })
    const res = await request(`/api/data/v9.2/systemusers(${adminId})`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ isdisabled: true }),
      token: await userToken(defaultIds.users.contosoAdmin),
    })
    expect(res.status).toBe(204)
    expect(isSystemAdministrator(org, defaultIds.users.contosoAdmin)).toBe(false)
  })
})
