import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMultiTenantApp } from '../snippets/multi-tenant.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'
import { consentAs } from './http-browser.ts'

let setup: Setup
let restoreTrust: () => void
let app: Awaited<ReturnType<typeof createMultiTenantApp>>
const ids = defaultIds

beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  restoreTrust = setup.emulator.trust.installGlobally() // for the form-filling test browser only
  app = await createMultiTenantApp({
    clientId: setup.clientId,
    clientSecret: setup.clientSecret,
    cloud: setup.cloud,
    ca: setup.ca,
    publicUrl: 'http://localhost:3000',
    stateSecret: 'a-test-secret-of-at-least-thirty-two-bytes!',
    roleName: 'Dataverse S2S Connector',
  })
}, 120_000)
afterAll(async () => {
  restoreTrust?.()
  await app?.registry.close()
  await setup?.emulator.stop()
})

const userToken = (objectId: string) =>
  setup.emulator.world.mintUserAccessToken({
    userObjectId: objectId,
    appId: ids.multiTenantAppId,
    resource: `api://${ids.multiTenantAppId}`,
  })

async function call(objectId: string, init: RequestInit & { actAsMe?: boolean } = {}) {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${await userToken(objectId)}`)
  if (init.actAsMe) headers.set('x-act-as-me', 'true')
  return app.api.request('/api/accounts', { ...init, headers })
}

/** What the SPA sends: JSON, the signed-in user's token, and the browser's cookie. */
async function spa(path: string, objectId: string | undefined, body?: unknown, cookie = '') {
  return app.api.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(objectId ? { authorization: `Bearer ${await userToken(objectId)}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(cookie ? { cookie } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

describe('the multi-tenant walkthrough, end to end on the emulator', () => {
  const admin = ids.users.fabrikamAdmin
  let callbackUrl: string
  let cookie: string

  it('refuses Fabrikam before it is onboarded (no consent yet: AADSTS700016 from the provider)', async () => {
    await expect(
      app.tokens.getToken({ tenantId: setup.fabrikam.tenantId, resource: setup.fabrikam.orgUrl }),
    ).rejects.toMatchObject({ code: 'APP_NOT_FOUND_IN_TENANT' })
    expect((await call(ids.users.fabrikamCarol)).status).toBe(403)
  })

  it('lets only a signed-in administrator of Fabrikam start connecting it', async () => {
    const body = { orgUrl: setup.fabrikam.orgUrl }
    expect((await spa('/api/onboarding/start', undefined, body)).status).toBe(401)
    const carol = await spa('/api/onboarding/start', ids.users.fabrikamCarol, body)
    expect(await carol.json()).toMatchObject({ error: { code: 'not_tenant_admin' } })
    const contosoAdmin = await spa('/api/onboarding/start', ids.users.contosoAdmin, body)
    expect(await contosoAdmin.json()).toMatchObject({ error: { code: 'org_in_other_tenant' } })
  })

  it('connects Fabrikam: the admin signs in, starts, consents, and completes with the callback’s ticket', async () => {
    // #region flow
    // 1. The signed-in admin (their token has `wids` with an admin role) gives the org URL.
    const start = await spa('/api/onboarding/start', admin, { orgUrl: setup.fabrikam.orgUrl })
    cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '' // binds the consent to this browser
    const { consentUrl } = (await start.json()) as { consentUrl: string }
    // 2. The browser goes to Entra ID's admin consent; the admin accepts; Entra ID redirects to the callback.
    callbackUrl = await consentAs(consentUrl, 'admin@fabrikam.onmicrosoft.com')
    const callback = await app.api.request(new URL(callbackUrl).pathname + new URL(callbackUrl).search, {
      headers: { cookie },
    })
    // 3. The callback changes nothing: it checks the state and sends the SPA a ticket…
    const ticket = new URLSearchParams(callback.headers.get('location')?.split('?')[1]).get('ticket')
    expect(await app.registry.get(setup.fabrikam.tenantId)).toBeUndefined()
    // …that the same signed-in admin, in the same browser, presents to complete the connection.
    const done = await spa('/api/onboarding/complete', admin, { ticket }, cookie)
    // #endregion flow
    expect(done.status).toBe(200)
    expect(await done.json()).toMatchObject({
      tenant: { status: 'consented', onboardedByName: 'Nestor Wilke', orgUrl: setup.fabrikam.orgUrl },
    })
  })

  it('refuses a replayed callback, one from another browser, and a ticket presented by another user', async () => {
    const path = new URL(callbackUrl).pathname + new URL(callbackUrl).search
    const replay = await app.api.request(path, { headers: { cookie } })
    expect(replay.headers.get('location')).toContain('error=STATE_REUSED')
    const start = await spa('/api/onboarding/start', admin, { orgUrl: setup.fabrikam.orgUrl })
    const other = await consentAs(
      ((await start.json()) as { consentUrl: string }).consentUrl,
      'admin@fabrikam.onmicrosoft.com',
    )
    const foreign = await app.api.request(new URL(other).pathname + new URL(other).search)
    expect(foreign.headers.get('location')).toContain('error=STATE_SESSION_MISMATCH')
  })

  it('still refuses Fabrikam users until the application user exists and is verified', async () => {
    expect((await call(ids.users.fabrikamCarol)).status).toBe(403)
  })

  it('provisions the application user with the admin’s delegated token, verifies it, and logs every step', async () => {
    const adminOrgToken = await setup.emulator.world.mintUserAccessToken({
      userObjectId: admin,
      appId: ids.multiTenantAppId,
      resource: setup.fabrikam.orgUrl,
    })
    const res = await spa('/api/onboarding/provision', admin, { dataverseToken: adminOrgToken })
    expect(await res.json()).toMatchObject({ ok: true, tenant: { status: 'verified' } })
    const page = (await (await spa('/api/onboarding/tenant', admin)).json()) as {
      events: { action: string; by: { name: string } }[]
    }
    expect(page.events.map((e) => `${e.action} by ${e.by.name}`)).toEqual([
      'verified by Nestor Wilke',
      'provisioned by Nestor Wilke',
      'connected by Nestor Wilke',
    ])
  })

  it('serves a Fabrikam user Fabrikam’s accounts, as the app', async () => {
    const res = await call(ids.users.fabrikamCarol)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { tenant: string; actor: string; accounts: { name: string }[] }
    expect(body.tenant).toBe(setup.fabrikam.tenantId)
    expect(body.actor).toBe('app')
    expect(body.accounts).toHaveLength(10)
  })

  it('impersonates on request: createdby is Carol; Dave, without a Dataverse role, gets 403', async () => {
    const res = await call(ids.users.fabrikamCarol, {
      method: 'POST',
      actAsMe: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Created as Carol' }),
    })
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    const client = (await import('../snippets/client.ts')).clientFor(setup, setup.fabrikam)
    const row = await client.retrieve<{ _createdby_value: string; _createdonbehalfby_value: string }>(
      'accounts',
      id,
    )
    const carol = await client.query<{ systemuserid: string }>('systemusers', {
      filter: `azureactivedirectoryobjectid eq ${ids.users.fabrikamCarol}`,
    })
    expect(row._createdby_value).toBe(carol.value[0]?.systemuserid)
    expect(row._createdonbehalfby_value).toBe((await client.whoAmI()).userId)

    const dave = await call(ids.users.fabrikamDave, {
      method: 'POST',
      actAsMe: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Dave was here' }),
    })
    expect(dave.status).toBe(403)
    expect(await dave.json()).toMatchObject({ error: { code: 'dataverse_forbidden' } })
  })

  it('never lets a user of a tenant that is not in the registry in, even with a valid token', async () => {
    expect((await call(ids.users.contosoAlice)).status).toBe(403)
  })
})
