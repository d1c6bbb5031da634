import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMultiTenantApp } from '../snippets/multi-tenant.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'
import { consentAs } from './http-browser.ts'

let setup: Setup
let restoreTrust: () => void
let app: ReturnType<typeof createMultiTenantApp>
const ids = defaultIds
const session = 'browser-session-of-nestor'

beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  restoreTrust = setup.emulator.trust.installGlobally() // for the form-filling test browser only
  app = createMultiTenantApp({
    clientId: setup.clientId,
    clientSecret: setup.clientSecret,
    cloud: setup.cloud,
    ca: setup.ca,
    consentRedirectUri: 'http://localhost:3000/onboarding/callback',
    stateSecret: 'a-test-secret-of-at-least-thirty-two-bytes!',
    roleName: 'Dataverse S2S Connector',
  })
})
afterAll(async () => {
  restoreTrust?.()
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

describe('the multi-tenant walkthrough, end to end on the emulator', () => {
  let callback: string

  it('refuses Fabrikam before it is onboarded (no consent yet: AADSTS700016 from the provider)', async () => {
    await expect(
      app.tokens.getToken({ tenantId: setup.fabrikam.tenantId, resource: setup.fabrikam.orgUrl }),
    ).rejects.toMatchObject({ code: 'APP_NOT_FOUND_IN_TENANT' })
    expect((await call(ids.users.fabrikamCarol)).status).toBe(403)
  })

  it('connects Fabrikam: discovery, admin consent as its admin, a verified callback', async () => {
    const url = new URL(await app.startConnect(setup.fabrikam.orgUrl, session))
    expect(url.pathname).toBe(`/${setup.fabrikam.tenantId}/v2.0/adminconsent`)
    expect(url.searchParams.get('scope')).toBe(`${setup.fabrikam.orgUrl}/.default`)
    callback = await consentAs(url.toString(), 'admin@fabrikam.onmicrosoft.com')
    expect(new URL(callback).searchParams.get('admin_consent')).toBe('True')
    const started = await app.finishConsent(callback, session)
    expect(started).toEqual({ orgUrl: setup.fabrikam.orgUrl, tenantId: setup.fabrikam.tenantId })
    expect(app.registry.get(setup.fabrikam.tenantId)?.status).toBe('consented')
  })

  it('refuses a replayed callback and one from another browser', async () => {
    await expect(app.finishConsent(callback, session)).rejects.toMatchObject({ code: 'STATE_REUSED' })
    const other = await consentAs(
      await app.startConnect(setup.fabrikam.orgUrl, session),
      'admin@fabrikam.onmicrosoft.com',
    )
    await expect(app.finishConsent(other, 'another-browser')).rejects.toMatchObject({
      code: 'STATE_SESSION_MISMATCH',
    })
  })

  it('still refuses Fabrikam users until the application user exists and is verified', async () => {
    expect((await call(ids.users.fabrikamCarol)).status).toBe(403)
  })

  it('provisions the application user with the admin’s delegated token and verifies access as the app', async () => {
    const adminToken = await setup.emulator.world.mintUserAccessToken({
      userObjectId: ids.users.fabrikamAdmin,
      appId: ids.multiTenantAppId,
      resource: setup.fabrikam.orgUrl,
    })
    const { created, report } = await app.provision(setup.fabrikam.tenantId, adminToken)
    expect(created.created).toBe(true)
    expect(created.rolesAdded).toEqual(['Dataverse S2S Connector'])
    expect(report.problems.map((p) => `${p.kind}: ${p.message}`)).toEqual([])
    expect(report.ok).toBe(true)
    expect(app.registry.get(setup.fabrikam.tenantId)?.status).toBe('verified')
    // idempotent
    const again = await app.provision(setup.fabrikam.tenantId, adminToken)
    expect(again.created).toMatchObject({ created: false, rolesAdded: [] })
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
