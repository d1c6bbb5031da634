import { beforeAll, describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'
type Env = Awaited<ReturnType<typeof setup>>
const json = { 'Content-Type': 'application/json' }

let env: Env
beforeAll(async () => {
  env = await setup()
})

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error
}

describe('token validation', () => {
  it('rejects a token for another org, another tenant, a forged signature or an expired token with the challenge', async () => {
    const otherAudience = await env.world.mintAppToken({
      tenantId: ids.contosoTenantId,
      appId: ids.multiTenantAppId,
      resource: `api://${ids.multiTenantAppId}`,
    })
    const good = await env.appToken()
    const [h, p] = good.split('.')
    const forged = `${h}.${p}.${'A'.repeat(342)}`
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p as string, 'base64url').toString()), tid: ids.fabrikamTenantId })).toString('base64url')}.${good.split('.')[2]}`
    const expired = await env.world.mintAppToken({
      tenantId: ids.contosoTenantId,
      appId: ids.multiTenantAppId,
      resource: env.url,
      lifetimeSeconds: -10,
    })
    for (const token of [otherAudience, forged, tampered, expired, 'not-a-jwt']) {
      const res = await env.request(`${API}/WhoAmI`, { token })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toContain(`/${ids.contosoTenantId}/oauth2/authorize`)
    }
  })

  it('accepts the audience with a trailing slash', async () => {
    const token = await env.world.mintAppToken({
      tenantId: ids.contosoTenantId,
      appId: ids.multiTenantAppId,
      resource: `${env.url}/`,
    })
    expect((await env.request(`${API}/WhoAmI`, { token })).status).toBe(200)
  })
})

describe('callers', () => {
  it('answers 403 0x80072560 to an app that has consent but no application user, then serves it once created', async () => {
    const app = await env.world.addApp({
      homeTenantId: ids.isvTenantId,
      displayName: 'Late App',
      signInAudience: 'AzureADMultipleOrgs',
      secrets: ['s'],
    })
    env.world.grantConsent(ids.contosoTenantId, app.appId)
    const token = await env.appToken(ids.contosoTenantId, app.appId)
    const denied = await env.request(`${API}/WhoAmI`, { token })
    expect(denied.status).toBe(403)
    expect(await errorOf(denied)).toEqual({
      code: '0x80072560',
      message: 'The user is not a member of the organization.',
    })

    // an admin creates the application user over the Web API, as in the onboarding walkthrough
    const admin = await env.userToken(ids.users.contosoAdmin)
    const root = (await (
      await env.request(
        `${API}/businessunits?$select=businessunitid,name&$filter=_parentbusinessunitid_value eq null`,
        { token: admin },
      )
    ).json()) as { value: { businessunitid: string }[] }
    const buId = root.value[0]?.businessunitid
    const created = await env.request(`${API}/systemusers`, {
      method: 'POST',
      token: admin,
      headers: json,
      body: JSON.stringify({
        applicationid: app.appId,
        'businessunitid@odata.bind': `/businessunits(${buId})`,
        accessmode: 4,
        isdisabled: false,
      }),
    })
    expect(created.status).toBe(204)
    const userUrl = created.headers.get('odata-entityid') as string
    const roles = (await (
      await env.request(
        `${API}/roles?$select=roleid&$filter=name eq 'Dataverse S2S Connector' and _businessunitid_value eq ${buId}`,
        { token: admin },
      )
    ).json()) as { value: { roleid: string }[] }
    expect(roles.value).toHaveLength(1)
    const assoc = await env.request(`${userUrl}/systemuserroles_association/$ref`, {
      method: 'POST',
      token: admin,
      headers: json,
      body: JSON.stringify({ '@odata.id': `${env.url}/api/data/v9.2/roles(${roles.value[0]?.roleid})` }),
    })
    expect(assoc.status).toBe(204)
    const who = await env.request(`${API}/WhoAmI`, { token })
    expect(who.status).toBe(200)
    const accounts = await env.request(`${API}/accounts?$top=1`, { token })
    expect(accounts.status).toBe(200)

    // disabled application user: 403 again
    env.org.data.setApplicationUserDisabled(app.appId, true)
    const disabled = await env.request(`${API}/WhoAmI`, { token })
    expect(disabled.status).toBe(403)
    expect((await errorOf(disabled)).code).toBe('0x80072560')
  })

  it('refuses an application user for an app without consent in the tenant', async () => {
    const app = await env.world.addApp({
      homeTenantId: ids.isvTenantId,
      displayName: 'Unconsented',
      signInAudience: 'AzureADMultipleOrgs',
    })
    const admin = await env.userToken(ids.users.contosoAdmin)
    const res = await env.request(`${API}/systemusers`, {
      method: 'POST',
      token: admin,
      headers: json,
      body: JSON.stringify({ applicationid: app.appId }),
    })
    expect(res.status).toBe(400)
    expect((await errorOf(res)).message).toContain('consent')
    expect(() => env.org.data.createApplicationUser(app.appId, ['Dataverse S2S Connector'])).toThrow(
      /consent/,
    )
  })

  it('maps delegated tokens by oid to the user and enforces their roles', async () => {
    const alice = await env.userToken(ids.users.contosoAlice)
    const who = await env.whoAmI({ token: alice })
    const me = (await (
      await env.request(`${API}/systemusers(${who})?$select=azureactivedirectoryobjectid`, {
        token: alice,
      })
    ).json()) as Record<string, string>
    expect(me.azureactivedirectoryobjectid).toBe(ids.users.contosoAlice)
    const bob = await env.userToken(ids.users.contosoBob)
    const denied = await env.request(`${API}/accounts?$top=1`, { token: bob })
    expect(denied.status).toBe(403)
    const err = await errorOf(denied)
    expect(err.code).toBe('0x80040220')
    expect(err.message).toContain('prvReadAccount')
  })

  it('checks each privilege: Basic User may create but not delete an account', async () => {
    const alice = await env.userToken(ids.users.contosoAlice)
    const created = await env.request(`${API}/accounts`, {
      method: 'POST',
      token: alice,
      headers: json,
      body: '{"name":"by alice"}',
    })
    expect(created.status).toBe(204)
    const del = await env.request(created.headers.get('odata-entityid') as string, {
      method: 'DELETE',
      token: alice,
    })
    expect(del.status).toBe(403)
    expect((await errorOf(del)).message).toContain('prvDeleteAccount')
  })
})

describe('impersonation', () => {
  it('acts for a user by CallerObjectId and MSCRMCallerID, recording createdby and createdonbehalfby', async () => {
    const appUser = await env.whoAmI()
    const alice = await env.whoAmI({ headers: { CallerObjectId: ids.users.contosoAlice } })
    expect(alice).not.toBe(appUser)
    const created = await env.request(
      `${API}/accounts?$select=_createdby_value,_createdonbehalfby_value,_ownerid_value`,
      {
        method: 'POST',
        headers: { ...json, CallerObjectId: ids.users.contosoAlice, Prefer: 'return=representation' },
        body: '{"name":"on behalf"}',
      },
    )
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({
      _createdby_value: alice,
      _createdonbehalfby_value: appUser,
      _ownerid_value: alice,
    })
    const legacy = await env.request(`${API}/WhoAmI`, { headers: { MSCRMCallerID: alice } })
    expect(((await legacy.json()) as { UserId: string }).UserId).toBe(alice)
  })

  it('uses the intersection of privileges: the app cannot delete through Alice', async () => {
    const [id] = env.org.data.insertRows('account', [{ name: 'keep me' }])
    const res = await env.request(`${API}/accounts(${id})`, {
      method: 'DELETE',
      headers: { CallerObjectId: ids.users.contosoAlice },
    })
    expect(res.status).toBe(403)
    expect((await errorOf(res)).message).toContain('prvDeleteAccount')
  })

  it('denies impersonation to a caller without prvActOnBehalfOfAnotherUser', async () => {
    const alice = await env.userToken(ids.users.contosoAlice)
    const res = await env.request(`${API}/WhoAmI`, {
      token: alice,
      headers: { CallerObjectId: ids.users.contosoAdmin },
    })
    expect(res.status).toBe(403)
    const err = await errorOf(res)
    expect(err.code).toBe('0x80040220')
    expect(err.message).toContain('prvActOnBehalfOfAnotherUser')
  })

  it('answers 404 for an unknown impersonated user and 400 for a malformed header', async () => {
    const unknown = await env.request(`${API}/WhoAmI`, {
      headers: { CallerObjectId: '00000000-0000-4000-8000-000000000001' },
    })
    expect(unknown.status).toBe(404)
    const bad = await env.request(`${API}/WhoAmI`, { headers: { CallerObjectId: 'nope' } })
    expect(bad.status).toBe(400)
  })
})

describe('security entities', () => {
  it('gives a new business unit copies of the roles, as Dataverse does', async () => {
    const admin = await env.userToken(ids.users.contosoAdmin)
    const res = await env.request(`${API}/businessunits`, {
      method: 'POST',
      token: admin,
      headers: { ...json, Prefer: 'return=representation' },
      body: '{"name":"Sales"}',
    })
    expect(res.status).toBe(201)
    const bu = (await res.json()) as { businessunitid: string; _parentbusinessunitid_value: string }
    expect(bu._parentbusinessunitid_value).toBeTruthy()
    const roles = (await (
      await env.request(
        `${API}/roles?$select=name,_parentrootroleid_value&$filter=_businessunitid_value eq ${bu.businessunitid}`,
        { token: admin },
      )
    ).json()) as {
      value: { name: string; _parentrootroleid_value: string }[]
    }
    expect(roles.value.map((r) => r.name).sort()).toEqual([
      'Basic User',
      'Dataverse S2S Connector',
      'Delegate',
      'System Administrator',
    ])
    expect(roles.value.every((r) => r._parentrootroleid_value)).toBe(true)
  })

  it('lists and removes role assignments through systemuserroles_association', async () => {
    const admin = await env.userToken(ids.users.contosoAdmin)
    const aliceId = await env.whoAmI({ headers: { CallerObjectId: ids.users.contosoAlice } })
    const roles = (await (
      await env.request(`${API}/systemusers(${aliceId})/systemuserroles_association?$select=name`, {
        token: admin,
      })
    ).json()) as { value: { roleid: string; name: string }[] }
    expect(roles.value.map((r) => r.name)).toEqual(['Basic User'])
    const del = await env.request(
      `${API}/systemusers(${aliceId})/systemuserroles_association(${roles.value[0]?.roleid})/$ref`,
      { method: 'DELETE', token: admin },
    )
    expect(del.status).toBe(204)
    const aliceToken = await env.userToken(ids.users.contosoAlice)
    expect((await env.request(`${API}/accounts?$top=1`, { token: aliceToken })).status).toBe(403)
    const add = await env.request(`${API}/systemusers(${aliceId})/systemuserroles_association/$ref`, {
      method: 'POST',
      token: admin,
      headers: json,
      body: JSON.stringify({ '@odata.id': `roles(${roles.value[0]?.roleid})` }),
    })
    expect(add.status).toBe(204)
    expect((await env.request(`${API}/accounts?$top=1`, { token: aliceToken })).status).toBe(200)
  })

  it('does not let the connector role assign roles to itself', async () => {
    const who = await env.whoAmI()
    const admin = await env.userToken(ids.users.contosoAdmin)
    const sysadmin = (await (
      await env.request(`${API}/roles?$select=roleid&$filter=name eq 'System Administrator'`, {
        token: admin,
      })
    ).json()) as { value: { roleid: string }[] }
    const res = await env.request(`${API}/systemusers(${who})/systemuserroles_association/$ref`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ '@odata.id': `roles(${sysadmin.value[0]?.roleid})` }),
    })
    expect(res.status).toBe(403)
  })

  it("answers RetrieveUserPrivileges with the privileges of the user's roles", async () => {
    const who = await env.whoAmI()
    const res = await env.request(
      `${API}/systemusers(${who})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`,
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      RolePrivileges: { PrivilegeName: string; Depth: string; PrivilegeId: string }[]
    }
    const names = body.RolePrivileges.map((p) => p.PrivilegeName)
    expect(names).toContain('prvActOnBehalfOfAnotherUser')
    expect(names).toContain('prvDeleteAccount')
    expect(names).not.toContain('prvReadRole')
    expect(body.RolePrivileges[0]?.Depth).toBe('Global')
    expect(body.RolePrivileges[0]?.PrivilegeId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/,
    )
  })

  it('answers RetrieveUserPrivileges for a System Administrator with every verb on every table, sorted, no wildcard', async () => {
    const admin = await env.userToken(ids.users.contosoAdmin)
    const who = await env.whoAmI({ token: admin })
    const res = await env.request(
      `${API}/systemusers(${who})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`,
      { token: admin },
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      RolePrivileges: { PrivilegeName: string; Depth: string; PrivilegeId: string; BusinessUnitId: string }[]
    }
    const names = body.RolePrivileges.map((p) => p.PrivilegeName)
    for (const verb of ['Create', 'Read', 'Write', 'Delete', 'Append', 'AppendTo'])
      expect(names).toContain(`prv${verb}Account`)
    expect(names).toContain('prvActOnBehalfOfAnotherUser')
    expect(names).not.toContain('*')
    expect(names).toEqual([...names].sort())
    expect(new Set(names).size).toBe(names.length)
    expect(new Set(body.RolePrivileges.map((p) => p.PrivilegeId)).size).toBe(names.length)
    const rootBu = body.RolePrivileges[0]?.BusinessUnitId
    expect(rootBu).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    for (const p of body.RolePrivileges) {
      expect(p.Depth).toBe('Global')
      expect(p.BusinessUnitId).toBe(rootBu)
    }
  })
})
