import { beforeAll, describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

// Who a request acts as: the caller a token names (app-only by appid/azp, delegated by oid) and impersonation through
// CallerObjectId / MSCRMCallerID (Microsoft Learn, "Impersonate another user using the Web API": the caller needs
// prvActOnBehalfOfAnotherUser; a disabled user cannot be impersonated).
let env: Awaited<ReturnType<typeof setup>>
const API = '/api/data/v9.2'
const AUTHORITY = 'https://localhost:8443'

beforeAll(async () => {
  env = await setup()
}, 60_000)

/** A token for the org signed by the world's key, with exactly these claims beyond the envelope. */
async function tokenWith(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return env.world.signingKeys.signJwt({
    aud: env.url,
    iss: `${AUTHORITY}/${ids.contosoTenantId}/`,
    tid: ids.contosoTenantId,
    iat: now,
    nbf: now,
    exp: now + 3600,
    ...claims,
  })
}
const error = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error
const systemUserOf = async (objectId: string) => {
  const res = await env.request(
    `${API}/systemusers?$select=systemuserid&$filter=azureactivedirectoryobjectid eq ${objectId}`,
  )
  return ((await res.json()) as { value: { systemuserid: string }[] }).value[0]?.systemuserid as string
}

describe('the caller a token names', () => {
  it('a token with idtyp app, or roles without scp, or neither scp nor upn is app-only: the application user', async () => {
    const appUser = await env.whoAmI()
    const appid = ids.multiTenantAppId
    for (const claims of [
      { idtyp: 'app', appid, oid: ids.users.contosoAlice, scp: 'user_impersonation' },
      { roles: ['x'], appid, oid: ids.users.contosoAlice, upn: 'alice@contoso.onmicrosoft.com' },
      { appid, oid: ids.users.contosoAlice },
      { azp: appid, oid: ids.users.contosoAlice },
    ]) {
      expect(await env.whoAmI({ token: await tokenWith(claims) }), JSON.stringify(claims)).toBe(appUser)
    }
  })

  it('a token with scp, or with a upn, is delegated: the user of its oid, whatever the case of the GUID', async () => {
    const alice = await systemUserOf(ids.users.contosoAlice)
    const appid = ids.multiTenantAppId
    for (const claims of [
      { scp: 'user_impersonation', appid, oid: ids.users.contosoAlice },
      { scp: 'user_impersonation', roles: ['x'], appid, oid: ids.users.contosoAlice.toUpperCase() },
      { upn: 'alice@contoso.onmicrosoft.com', appid, oid: ids.users.contosoAlice },
    ]) {
      expect(await env.whoAmI({ token: await tokenWith(claims) }), JSON.stringify(claims)).toBe(alice)
    }
  })

  it('a token whose identity is missing or not a GUID belongs to no user of the org', async () => {
    for (const claims of [
      { scp: 'user_impersonation', oid: 'not-a-guid' },
      { scp: 'user_impersonation' },
      { idtyp: 'app', appid: `${ids.multiTenantAppId}x` },
      { idtyp: 'app', appid: 42 },
    ]) {
      const res = await env.request(`${API}/WhoAmI`, { token: await tokenWith(claims) })
      expect(res.status, JSON.stringify(claims)).toBe(403)
    }
  })
})

describe('impersonation headers', () => {
  it('accept the GUID in braces and in upper case, for both headers', async () => {
    const alice = await systemUserOf(ids.users.contosoAlice)
    expect(
      await env.whoAmI({ headers: { CallerObjectId: `{${ids.users.contosoAlice.toUpperCase()}}` } }),
    ).toBe(alice)
    expect(await env.whoAmI({ headers: { MSCRMCallerID: alice.toUpperCase() } })).toBe(alice)
    expect(await env.whoAmI({ headers: { MSCRMCallerID: `{${alice}}` } })).toBe(alice)
  })

  it('refuse a value that is not a GUID, naming the header that carried it', async () => {
    for (const [header, value] of [
      ['CallerObjectId', 'alice'],
      ['MSCRMCallerID', `${ids.users.contosoAlice}x`],
      ['CallerObjectId', `x{${ids.users.contosoAlice}}`],
    ] as const) {
      const res = await env.request(`${API}/WhoAmI`, { headers: { [header]: value } })
      expect(res.status).toBe(400)
      expect((await error(res)).message).toBe(`The ${header} header must be a GUID.`)
    }
  })

  it('answer 404 for a user the org does not have, naming the id in lower case', async () => {
    const unknown = 'ABCDEF00-0000-4000-8000-000000000099'
    const res = await env.request(`${API}/WhoAmI`, { headers: { MSCRMCallerID: unknown } })
    expect(res.status).toBe(404)
    expect((await error(res)).message).toContain(unknown.toLowerCase())
  })

  it('refuse to act as a disabled user (403 0x80072560 naming the user)', async () => {
    const oid = 'd15ab1ed-0000-4000-8000-000000000001'
    const [disabled] = env.org.data.insertRows('systemuser', [
      { azureactivedirectoryobjectid: oid, fullname: 'Disabled User', isdisabled: true },
    ])
    for (const headers of [{ CallerObjectId: oid }, { MSCRMCallerID: disabled as string }]) {
      const res = await env.request(`${API}/WhoAmI`, { headers })
      expect(res.status).toBe(403)
      expect(await error(res)).toEqual({
        code: '0x80072560',
        message: `The user with SystemUserId=${disabled} is disabled.`,
      })
    }
  })
})
