import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  clientSecret,
  createConsentStateManager,
  createTenantDiscovery,
  createTokenProvider,
  createUserTokenVerifier,
  defineCloud,
} from '@dataverse-s2s/core'
import { defaultIds, defaultSeed, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createClientCache } from '../dataverse.ts'
import { openPgliteTenantRegistry } from '../pglite.ts'
import { onboardingRouter } from './router.ts'
import type { TenantRegistry } from './types.ts'

const ids = defaultIds
const appId = ids.multiTenantAppId
const fabrikam = ids.fabrikamTenantId
let emulator: EmulatorHandle
let registry: TenantRegistry
let app: Hono
let secondOrgUrl: string
let options: Parameters<typeof onboardingRouter>[0]
const logs: string[] = []
/** The warnings with their fields: who was refused where. */
const warnings: { message: string; fields?: Record<string, unknown> }[] = []

beforeAll(async () => {
  const seed = defaultSeed()
  seed.orgs?.push({ uniqueName: 'fabrikam-eu', tenantId: fabrikam, displayName: 'Fabrikam Europe' })
  emulator = await startEmulator({ port: 0, seed })
  secondOrgUrl = emulator.orgs.find((o) => o.uniqueName === 'fabrikam-eu')?.url ?? ''
  const cloud = defineCloud({ name: 'emulator', authorityHost: emulator.url, dataverseHosts: ['localhost'] })
  const http = { ca: emulator.caCertPem }
  ;({ registry } = await openPgliteTenantRegistry({
    template: join(tmpdir(), 'dataverse-s2s-pglite-0.5.16-initdb.tar'),
    cacheTtlMs: 0,
  }))
  const tokens = createTokenProvider({
    clientId: appId,
    credential: clientSecret(ids.multiTenantAppSecret),
    cloud,
    http,
  })
  options = {
    registry,
    verifier: createUserTokenVerifier({
      audience: [appId, `api://${appId}`],
      cloud,
      http,
      requiredScopes: ['access_as_user'],
      isTenantAllowed: () => true,
    }),
    tokens,
    discovery: createTenantDiscovery({ clouds: [cloud], http }),
    states: createConsentStateManager({
      secret: 'router-test-secret-0123456789-abcdefghij',
      store: { consume: (id, exp) => registry.consumeConsentState(id, exp) },
    }),
    clients: createClientCache({ tokens, client: http }),
    client: http,
    clientId: appId,
    cloud,
    publicUrl: 'http://localhost:5173',
    roleName: 'Dataverse S2S Connector',
    verifyTables: ['accounts', 'contacts'],
    logger: {
      info: (m) => logs.push(m),
      warn: (m, fields) => {
        logs.push(m)
        warnings.push({ message: m, ...(fields ? { fields } : {}) })
      },
    },
  }
  app = onboardingRouter(options)
}, 180_000)
afterAll(async () => {
  await registry?.close()
  await emulator?.stop()
})

const orgOf = (tid: string) =>
  emulator.orgs.find((o) => o.tenantId === tid && o.uniqueName !== 'fabrikam-eu')?.url ?? ''
const apiToken = (oid: string) =>
  emulator.world.mintUserAccessToken({ userObjectId: oid, appId, resource: `api://${appId}` })
const orgToken = (oid: string, orgUrl: string) =>
  emulator.world.mintUserAccessToken({ userObjectId: oid, appId, resource: orgUrl })
const call = async (
  path: string,
  token?: string,
  init: { body?: unknown; cookie?: string; method?: string } = {},
) =>
  app.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(init.cookie ? { Cookie: init.cookie } : {}),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
const code = async (res: Response) => ((await res.clone().json()) as { error?: { code: string } }).error?.code

/** Start as `oid`: the session cookie and the state of the consent URL. */
async function start(oid: string, body: Record<string, unknown>, cookie?: string) {
  const res = await call('/api/onboarding/start', await apiToken(oid), {
    body,
    ...(cookie ? { cookie } : {}),
  })
  if (res.status !== 200) return { res, cookie: cookie ?? '', state: '' }
  const setCookie = res.headers.get('set-cookie') ?? ''
  const { consentUrl } = (await res.clone().json()) as { consentUrl: string }
  return {
    res,
    cookie: cookie ?? setCookie.split(';')[0] ?? '',
    state: new URL(consentUrl).searchParams.get('state') ?? '',
  }
}
/** The admin-consent redirect; returns the query of the SPA page it sends the browser to. */
async function callback(query: string, cookie?: string) {
  const res = await app.request(
    `/onboarding/callback?${query}`,
    cookie ? { headers: { Cookie: cookie } } : {},
  )
  expect(res.status).toBe(303)
  const location = res.headers.get('location') ?? ''
  expect(location.startsWith('/#/onboarding?')).toBe(true)
  return new URLSearchParams(location.split('?')[1] ?? '')
}
const consented = (tid: string, state: string) =>
  `admin_consent=True&tenant=${tid}&state=${encodeURIComponent(state)}`
/** The whole connect flow as `oid`, up to the answer of /complete. */
async function connect(oid: string, tid: string, body: Record<string, unknown>) {
  const s = await start(oid, body)
  expect(s.res.status, await s.res.clone().text()).toBe(200)
  emulator.world.grantConsent(tid, appId)
  const ticket = (await callback(consented(tid, s.state), s.cookie)).get('ticket') ?? ''
  return call('/api/onboarding/complete', await apiToken(oid), { body: { ticket }, cookie: s.cookie })
}
const snapshot = async (tid: string) => JSON.stringify([await registry.get(tid), await registry.events(tid)])

describe('onboardingRouter: an admin of the tenant connects it', () => {
  it('connects Fabrikam as its Global Administrator: start, consent, callback, complete, provision, event log', async () => {
    const admin = ids.users.fabrikamAdmin
    const done = await connect(admin, fabrikam, { orgUrl: orgOf(fabrikam) })
    expect(done.status).toBe(200)
    expect(await done.json()).toMatchObject({
      tenant: { status: 'consented', onboardedBy: admin, onboardedByName: 'Nestor Wilke' },
    })
    const provision = await call('/api/onboarding/provision', await apiToken(admin), {
      body: { dataverseToken: await orgToken(admin, orgOf(fabrikam)) },
    })
    expect(provision.status).toBe(200)
    expect(await provision.json()).toMatchObject({ ok: true, tenant: { status: 'verified' } })
    const page = (await (await call('/api/onboarding/tenant', await apiToken(admin))).json()) as {
      tenant: { status: string }
      token: { ok: boolean }
      events: { action: string; fromStatus: string | null; by: { objectId: string; name: string } }[]
    }
    expect(page.tenant.status).toBe('verified')
    expect(page.token.ok).toBe(true)
    expect(page.events.map((e) => [e.action, e.fromStatus])).toEqual([
      ['verified', 'provisioned'],
      ['provisioned', 'consented'],
      ['connected', null],
    ])
    expect(page.events.every((e) => e.by.objectId === admin && e.by.name === 'Nestor Wilke')).toBe(true)
  })

  it('accepts the other roles that can grant tenant-wide consent, and the app role Tenant.Admin', async () => {
    emulator.world.setDirectoryRoles(ids.users.fabrikamDave, [ids.directoryRoles.applicationAdministrator])
    try {
      expect((await call('/api/onboarding/tenant', await apiToken(ids.users.fabrikamDave))).status).toBe(200)
    } finally {
      emulator.world.setDirectoryRoles(ids.users.fabrikamDave, [])
    }
    const now = Math.floor(Date.now() / 1000)
    const withRole = await emulator.world.signingKeys.signJwt({
      aud: appId,
      iss: `${emulator.url}/${fabrikam}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 600,
      azp: appId,
      oid: ids.users.fabrikamDave,
      scp: 'access_as_user',
      roles: ['Tenant.Admin'],
      tid: fabrikam,
      ver: '2.0',
    })
    expect((await call('/api/onboarding/tenant', withRole)).status).toBe(200)
    expect((await call('/api/onboarding/tenant', await apiToken(ids.users.fabrikamDave))).status).toBe(403)
  })
})

describe('onboardingRouter: nobody else changes a tenant', () => {
  it('refuses every route to a plain user of the tenant (403 not_tenant_admin), changing nothing', async () => {
    const before = await snapshot(fabrikam)
    const carol = await apiToken(ids.users.fabrikamCarol)
    const routes: [string, unknown?][] = [
      ['/api/onboarding/start', { orgUrl: orgOf(fabrikam) }],
      ['/api/onboarding/complete', { ticket: 'x.y' }],
      [
        '/api/onboarding/provision',
        { dataverseToken: await orgToken(ids.users.fabrikamCarol, orgOf(fabrikam)) },
      ],
      ['/api/onboarding/verify', {}],
      ['/api/onboarding/offboard', { confirm: true }],
      ['/api/onboarding/tenant'],
      ['/api/onboarding/events'],
    ]
    for (const [path, body] of routes) {
      const res = await call(path, carol, body === undefined ? {} : { body })
      expect.soft(res.status, path).toBe(403)
      expect.soft(await code(res), path).toBe('not_tenant_admin')
    }
    for (const [path, body] of routes) {
      expect.soft((await call(path, undefined, body === undefined ? {} : { body })).status, path).toBe(401)
    }
    expect(await snapshot(fabrikam)).toBe(before)
    // An operator sees which tenant's user was refused on which route.
    expect(warnings).toContainEqual({
      message: 'onboarding: refused a user who is not a tenant admin',
      fields: { tenantId: fabrikam, path: '/api/onboarding/offboard' },
    })
  })

  it('ignores a callback without the browser session, with another tenant, replayed, or forged', async () => {
    const before = await snapshot(fabrikam)
    const s = await start(ids.users.fabrikamAdmin, { orgUrl: orgOf(fabrikam) })
    expect((await callback(consented(fabrikam, s.state))).get('error')).toBe('STATE_SESSION_MISMATCH')
    expect(
      (
        await callback(
          consented(fabrikam, s.state),
          '__Host-dvs2s-session=attacker-session-aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        )
      ).get('error'),
    ).toBe('STATE_SESSION_MISMATCH')
    expect((await callback(consented(fabrikam, 'forged.state'), s.cookie)).get('error')).toBe('INVALID_STATE')
    const other = await start(ids.users.fabrikamAdmin, { orgUrl: orgOf(fabrikam) }, s.cookie)
    const wrongTenant = await callback(consented(ids.contosoTenantId, other.state), s.cookie)
    expect(wrongTenant.get('error')).toBe('TENANT_MISMATCH')
    expect(wrongTenant.get('message')).toMatch(/another tenant/)
    const ok = await callback(consented(fabrikam, s.state), s.cookie)
    expect(ok.get('ticket')).toBeTruthy()
    expect((await callback(consented(fabrikam, s.state), s.cookie)).get('error')).toBe('STATE_REUSED')
    // The redirect alone changed nothing: the ticket waits for the signed-in admin.
    expect(await snapshot(fabrikam)).toBe(before)
  })

  it('completes only for the admin who started, in the same browser, once', async () => {
    const before = await snapshot(fabrikam)
    const s = await start(ids.users.fabrikamAdmin, { orgUrl: orgOf(fabrikam) })
    const ticket = (await callback(consented(fabrikam, s.state), s.cookie)).get('ticket') ?? ''
    emulator.world.setDirectoryRoles(ids.users.fabrikamDave, [ids.directoryRoles.globalAdministrator])
    try {
      const otherAdmin = await call('/api/onboarding/complete', await apiToken(ids.users.fabrikamDave), {
        body: { ticket },
        cookie: s.cookie,
      })
      expect(await code(otherAdmin)).toBe('consent_of_another_admin')
    } finally {
      emulator.world.setDirectoryRoles(ids.users.fabrikamDave, [])
    }
    const admin = await apiToken(ids.users.fabrikamAdmin)
    const s2 = await start(ids.users.fabrikamAdmin, { orgUrl: orgOf(fabrikam) })
    const t2 = (await callback(consented(fabrikam, s2.state), s2.cookie)).get('ticket') ?? ''
    expect(await code(await call('/api/onboarding/complete', admin, { body: { ticket: t2 } }))).toBe(
      'state_session_mismatch',
    )
    const s3 = await start(ids.users.fabrikamAdmin, { orgUrl: orgOf(fabrikam) })
    expect(
      await code(
        await call('/api/onboarding/complete', admin, { body: { ticket: s3.state }, cookie: s3.cookie }),
      ),
    ).toBe('invalid_state')
    const s4 = await start(ids.users.fabrikamAdmin, { orgUrl: orgOf(fabrikam) })
    const t4 = (await callback(consented(fabrikam, s4.state), s4.cookie)).get('ticket') ?? ''
    expect(
      (await call('/api/onboarding/complete', admin, { body: { ticket: t4 }, cookie: s4.cookie })).status,
    ).toBe(200)
    expect(
      await code(await call('/api/onboarding/complete', admin, { body: { ticket: t4 }, cookie: s4.cookie })),
    ).toBe('state_reused')
    expect(await snapshot(fabrikam)).toBe(before) // a consent again for the same org changes nothing
  })

  it('refuses an org of another tenant, and a consent that did not take effect', async () => {
    const contosoAdmin = ids.users.contosoAdmin
    const foreign = await start(contosoAdmin, { orgUrl: orgOf(fabrikam) })
    expect(foreign.res.status).toBe(403)
    expect(await code(foreign.res)).toBe('org_in_other_tenant')
    const before = await snapshot(ids.contosoTenantId)
    emulator.world.revokeConsent(ids.contosoTenantId, appId)
    try {
      const s = await start(contosoAdmin, { orgUrl: orgOf(ids.contosoTenantId) })
      const ticket = (await callback(consented(ids.contosoTenantId, s.state), s.cookie)).get('ticket') ?? ''
      const res = await call('/api/onboarding/complete', await apiToken(contosoAdmin), {
        body: { ticket },
        cookie: s.cookie,
      })
      expect(await code(res)).toBe('consent_not_effective')
    } finally {
      emulator.world.grantConsent(ids.contosoTenantId, appId)
    }
    expect(await snapshot(ids.contosoTenantId)).toBe(before)
  })

  it('never lets a consent overwrite a connected tenant’s org: a change is an explicit, confirmed intent', async () => {
    const admin = ids.users.fabrikamAdmin
    const before = await snapshot(fabrikam)
    expect(await code((await start(admin, { orgUrl: secondOrgUrl })).res)).toBe('org_url_differs')
    expect(await code((await start(admin, { orgUrl: secondOrgUrl, intent: 'change_org' })).res)).toBe(
      'confirmation_required',
    )
    expect(
      await code((await start(admin, { orgUrl: orgOf(fabrikam), intent: 'change_org', confirm: true })).res),
    ).toBe('same_org_url')
    expect(
      await code((await start(admin, { orgUrl: orgOf(fabrikam), intent: 'reconnect', confirm: true })).res),
    ).toBe('not_offboarded')
    expect(await snapshot(fabrikam)).toBe(before)
    const moved = await connect(admin, fabrikam, {
      orgUrl: secondOrgUrl,
      intent: 'change_org',
      confirm: true,
    })
    expect(await moved.json()).toMatchObject({ tenant: { orgUrl: secondOrgUrl, status: 'consented' } })
    const back = await connect(admin, fabrikam, {
      orgUrl: orgOf(fabrikam),
      intent: 'change_org',
      confirm: true,
    })
    expect(back.status).toBe(200)
    const verify = await call('/api/onboarding/verify', await apiToken(admin), { body: {} })
    expect(await verify.json()).toMatchObject({
      ok: true,
      tenant: { status: 'verified', orgUrl: orgOf(fabrikam) },
    })
    const actions = (await registry.events(fabrikam, { limit: 3 })).map((e) => e.action)
    expect(actions).toEqual(['verified', 'org_url_changed', 'org_url_changed'])
  })

  it('offboards only with confirmation; an offboarded tenant comes back only through a confirmed reconnect', async () => {
    const admin = ids.users.fabrikamAdmin
    const token = await apiToken(admin)
    expect(await code(await call('/api/onboarding/offboard', token, { body: {} }))).toBe(
      'confirmation_required',
    )
    // offboarding drops the tenant's cached Dataverse client and app token: nothing keeps calling its org
    const orgUrl = (await registry.get(fabrikam))?.orgUrl as string
    const cached = options.clients.get(fabrikam, orgUrl)
    const invalidate = vi.spyOn(options.tokens, 'invalidate')
    const off = await call('/api/onboarding/offboard', token, { body: { confirm: true } })
    expect(await off.json()).toMatchObject({ tenant: { status: 'offboarded' } })
    expect(options.clients.get(fabrikam, orgUrl)).not.toBe(cached)
    expect(invalidate).toHaveBeenCalledWith({ tenantId: fabrikam, resource: orgUrl })
    invalidate.mockRestore()
    expect(await code(await call('/api/onboarding/verify', token, { body: {} }))).toBe('tenant_offboarded')
    const before = await snapshot(fabrikam)
    expect(await code((await start(admin, { orgUrl: orgOf(fabrikam) })).res)).toBe('tenant_offboarded')
    expect(await code((await start(admin, { orgUrl: orgOf(fabrikam), intent: 'reconnect' })).res)).toBe(
      'confirmation_required',
    )
    expect(await snapshot(fabrikam)).toBe(before)
    const again = await connect(admin, fabrikam, {
      orgUrl: orgOf(fabrikam),
      intent: 'reconnect',
      confirm: true,
    })
    expect(await again.json()).toMatchObject({ tenant: { status: 'consented', offboardedAt: null } })
    const verify = await call('/api/onboarding/verify', token, { body: {} })
    expect(await verify.json()).toMatchObject({ ok: true, tenant: { status: 'verified' } })
    const events = (await registry.events(fabrikam, { limit: 3 })).map((e) => [e.action, e.fromStatus])
    expect(events).toEqual([
      ['verified', 'consented'],
      ['reconnected', 'offboarded'],
      ['offboarded', 'verified'],
    ])
  })

  it('says to import the solution when the security role is not in the org, and records nothing', async () => {
    const other = onboardingRouter({ ...options, roleName: 'Role From A Solution Not Imported' })
    const before = await snapshot(fabrikam)
    const admin = ids.users.fabrikamAdmin
    const res = await other.request('/api/onboarding/provision', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await apiToken(admin)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ dataverseToken: await orgToken(admin, orgOf(fabrikam)) }),
    })
    expect(res.status).toBe(409)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('role_missing')
    expect(body.error.message).toMatch(/import the app's solution/)
    expect(await snapshot(fabrikam)).toBe(before)
  })

  it('refuses to build without its required options', () => {
    expect(() => onboardingRouter({ ...options, registry: undefined as never })).toThrow(/needs registry/)
    const required = [
      'registry',
      'verifier',
      'tokens',
      'discovery',
      'states',
      'clients',
      'clientId',
      'publicUrl',
      'roleName',
    ]
    for (const key of required) {
      expect(() => onboardingRouter({ ...options, [key]: undefined as never }), key).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: `onboardingRouter needs ${key}` }),
      )
    }
    expect(() => onboardingRouter({ ...options, clientId: '' })).toThrow(/needs clientId/)
    expect(() => onboardingRouter(undefined as never)).toThrow(/needs registry/)
  })

  it('never logs a token, a state or a ticket', () => {
    expect(logs.length).toBeGreaterThan(5)
    expect(logs.join('\n')).not.toMatch(/eyJ|\.[A-Za-z0-9_-]{40,}/)
  })
})
