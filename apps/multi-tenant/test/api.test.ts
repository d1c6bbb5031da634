import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { createConsentStateManager } from '@dataverse-s2s/core'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  apiAudience,
  appId,
  consentCallback,
  ids,
  onboard,
  registrySnapshot,
  startOnboarding,
  startTestApp,
} from './helpers.ts'

type T = Awaited<ReturnType<typeof startTestApp>>
let t: T
const secrets: string[] = []
const keep = <S extends string>(s: S): S => {
  secrets.push(s)
  return s
}

beforeAll(async () => {
  t = await startTestApp()
  const onboarded = await onboard(t, ids.fabrikamTenantId, ids.users.fabrikamAdmin)
  secrets.push(...onboarded.log)
})
afterAll(async () => {
  await t?.running.stop()
})

const call = (
  path: string,
  token: string | undefined,
  init: RequestInit & { headers?: Record<string, string> } = {},
) =>
  t.running.app.request(path, {
    ...init,
    headers: { ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }), ...init.headers },
  })
const code = async (res: Response) => ((await res.json()) as { error?: { code: string } }).error?.code

/** Claims of a good v2 access token for the app's API, for a user of `tenantId`. */
function claims(tenantId: string, oid: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000)
  return {
    aud: apiAudience,
    iss: `${t.emulator.url}/${tenantId}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    azp: appId,
    name: 'Forged',
    oid,
    scp: 'access_as_user',
    sub: oid,
    tid: tenantId,
    ver: '2.0',
    ...overrides,
  }
}
const signed = async (c: Record<string, unknown>) => keep(await t.emulator.world.signingKeys.signJwt(c))
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

describe('a user of one tenant never reaches another tenant’s org', () => {
  const contosoOrgId = () => t.org(ids.contosoTenantId).id
  const contosoCount = () =>
    t.emulator.admin
      .counters()
      .dataverseRequests.filter((r) => r.orgId === contosoOrgId())
      .reduce((n, r) => n + r.count, 0)

  it('refuses forged and malformed tokens (401/403) and never calls Contoso’s org for them', async () => {
    const before = contosoCount()
    const kid = t.emulator.world.signingKeys.currentKid
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const publicPem = createPublicKey(
      t.emulator.world.signingKeys.jwks().keys[0]?.x5c[0]
        ? `-----BEGIN CERTIFICATE-----\n${t.emulator.world.signingKeys.jwks().keys[0]?.x5c[0]}\n-----END CERTIFICATE-----`
        : '',
    ).export({ type: 'spki', format: 'pem' })
    const good = claims(ids.contosoTenantId, ids.users.contosoAlice)
    const cases: [string, string | undefined, number, Record<string, string>?][] = [
      ['no token', undefined, 401],
      ['not a JWT', 'garbage', 401],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good)}.`, 401],
      [
        'HS256 signed with the public key',
        keep(
          await new SignJWT(good)
            .setProtectedHeader({ alg: 'HS256', kid })
            .sign(Buffer.from(publicPem as string)),
        ),
        401,
      ],
      [
        'signed by another key under the real kid',
        keep(await new SignJWT(good).setProtectedHeader({ alg: 'RS256', kid }).sign(attacker.privateKey)),
        401,
      ],
      [
        'unknown kid',
        keep(
          await new SignJWT(good)
            .setProtectedHeader({ alg: 'RS256', kid: 'not-a-known-kid' })
            .sign(attacker.privateKey),
        ),
        401,
      ],
      [
        'expired',
        await signed({ ...good, iat: good.iat - 7200, nbf: good.iat - 7200, exp: good.iat - 3600 }),
        401,
      ],
      ['not yet valid', await signed({ ...good, nbf: good.iat + 3600 }), 401],
      [
        'issuer of Fabrikam, tid of Contoso',
        await signed({ ...good, iss: `${t.emulator.url}/${ids.fabrikamTenantId}/v2.0` }),
        401,
      ],
      [
        'issuer of Contoso, tid of Fabrikam',
        await signed({
          ...claims(ids.fabrikamTenantId, ids.users.fabrikamCarol),
          iss: `${t.emulator.url}/${ids.contosoTenantId}/v2.0`,
        }),
        401,
      ],
      ['v1 issuer', await signed({ ...good, iss: `${t.emulator.url}/${ids.contosoTenantId}/` }), 401],
      [
        'issuer of another cloud',
        await signed({ ...good, iss: `https://login.microsoftonline.com/${ids.contosoTenantId}/v2.0` }),
        401,
      ],
      [
        'audience of the org (a Dataverse token)',
        await signed({ ...good, aud: t.org(ids.contosoTenantId).url }),
        401,
      ],
      [
        'audience of another app',
        await signed({ ...good, aud: 'api://00000000-0000-0000-0000-000000000001' }),
        401,
      ],
      [
        'tid that is not a GUID',
        await signed({ ...good, tid: 'contoso', iss: `${t.emulator.url}/contoso/v2.0` }),
        401,
      ],
      ['missing scope', await signed({ ...good, scp: 'User.Read' }), 403],
      ['no scope at all (not a user token)', await signed({ ...good, scp: undefined }), 401],
      ['tenant not onboarded (Litware)', keep(await t.userToken(ids.users.isvAdmin)), 403],
      [
        'two tokens',
        `${await t.userToken(ids.users.contosoAlice)} ${await t.userToken(ids.users.contosoAlice)}`,
        401,
      ],
      ['Basic scheme', 'x', 401, { Authorization: 'Basic YWxpY2U6cGFzcw==' }],
    ]
    expect(cases.length).toBeGreaterThanOrEqual(15)
    for (const [name, token, status, headers] of cases) {
      const res = await call('/api/tables/accounts', token, { ...(headers ? { headers } : {}) })
      expect.soft(res.status, name).toBe(status)
      if (token) secrets.push(token)
    }
    expect(contosoCount()).toBe(before)
  })

  it('ignores tenant hints in headers, path, query and body: a Fabrikam user only ever reaches Fabrikam’s org', async () => {
    const alice = keep(await t.userToken(ids.users.contosoAlice))
    const contosoPage = (await (await call('/api/tables/accounts?pageSize=2', alice)).json()) as {
      rows: { id: string }[]
      next: string
    }
    const contosoId = contosoPage.rows[0]?.id ?? ''
    expect(contosoId).toMatch(/^[0-9a-f-]{36}$/)
    const carol = keep(await t.userToken(ids.users.fabrikamCarol))
    const before = contosoCount()
    const sneaky = {
      'X-Tenant-Id': ids.contosoTenantId,
      'X-Ms-Tenant-Id': ids.contosoTenantId,
      CallerObjectId: ids.users.contosoAdmin,
      MSCRMCallerID: ids.users.contosoAdmin,
      'X-Org-Url': t.org(ids.contosoTenantId).url,
      Host: new URL(t.org(ids.contosoTenantId).url).host,
    }
    const hinted = await call(
      `/api/tables/accounts?tenant=${ids.contosoTenantId}&orgUrl=${t.org(ids.contosoTenantId).url}`,
      carol,
      { headers: sneaky },
    )
    expect(hinted.status).toBe(400)
    expect(await code(hinted)).toBe('unknown_parameter')
    const list = await call('/api/tables/accounts', carol, { headers: sneaky })
    expect(list.status).toBe(200)
    const fabrikamRows = (await list.json()) as { rows: { id: string }[] }
    expect(fabrikamRows.rows.map((r) => r.id)).not.toContain(contosoId)
    expect((await call(`/api/tables/accounts/${contosoId}`, carol, { headers: sneaky })).status).toBe(404)
    expect(
      (
        await call(`/api/tables/accounts/${contosoId}`, carol, {
          method: 'DELETE',
          headers: { ...sneaky, 'If-Match': 'W/"1"' },
        })
      ).status,
    ).toBe(404)
    const patch = await call(`/api/tables/accounts/${contosoId}`, carol, {
      method: 'PATCH',
      headers: { ...sneaky, 'Content-Type': 'application/json', 'If-Match': 'W/"1"' },
      body: JSON.stringify({ name: 'pwned' }),
    })
    expect(patch.status).toBe(404)
    const bodyHint = await call('/api/tables/accounts', carol, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x', orgUrl: t.org(ids.contosoTenantId).url }),
    })
    expect(bodyHint.status).toBe(400)
    const bind = await call('/api/tables/accounts', carol, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x', 'parentaccountid@odata.bind': `/accounts(${contosoId})` }),
    })
    expect(bind.status).toBe(400)
    expect(
      await code(await call(`/api/tables/accounts?cursor=${encodeURIComponent(contosoPage.next)}`, carol)),
    ).toBe('invalid_cursor')
    expect((await call(`/api/tables/systemusers`, carol)).status).toBe(404)
    expect((await call(`/api/tables/..%2F..%2Fsystemusers`, carol)).status).toBe(404)
    expect((await call(`/api/tables/accounts/${contosoId}%3Fx`, carol)).status).toBe(404)
    const injected = await call(`/api/tables/accounts?search=${encodeURIComponent("') or (1 eq 1")}`, carol)
    expect(injected.status).toBe(200)
    expect(((await injected.json()) as { rows: unknown[] }).rows).toEqual([])
    expect(contosoCount()).toBe(before)
  })

  it('refuses offboarded tenants with 403 and a message, and serves them again after an explicit reconnect', async () => {
    const admin = keep(await t.userToken(ids.users.fabrikamAdmin))
    const carol = keep(await t.userToken(ids.users.fabrikamCarol))
    const off = await call('/api/onboarding/offboard', admin, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ confirm: true }),
    })
    expect(off.status).toBe(200)
    const refused = await call('/api/tables/accounts', carol)
    expect(refused.status).toBe(403)
    const body = (await refused.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('tenant_inactive')
    expect(body.error.message).toMatch(/offboarded/)
    // A plain consent does not bring it back: reconnecting is its own, confirmed action.
    await expect(onboard(t, ids.fabrikamTenantId, ids.users.fabrikamAdmin)).rejects.toThrow(
      /tenant_offboarded/,
    )
    const again = await onboard(t, ids.fabrikamTenantId, ids.users.fabrikamAdmin, { intent: 'reconnect' })
    secrets.push(...again.log)
    expect((await call('/api/tables/accounts', carol)).status).toBe(200)
    const events = await t.running.registry.events(ids.fabrikamTenantId, { limit: 4 })
    expect(events.map((e) => e.action)).toEqual(['verified', 'provisioned', 'reconnected', 'offboarded'])
    expect(events.every((e) => e.actorObjectId === ids.users.fabrikamAdmin)).toBe(true)
  })

  it('lets only the tenant’s admin manage its connection', async () => {
    const carol = keep(await t.userToken(ids.users.fabrikamCarol))
    expect(await code(await call('/api/onboarding/tenant', carol))).toBe('not_tenant_admin')
    expect(await code(await call('/api/onboarding/offboard', carol, { method: 'POST' }))).toBe(
      'not_tenant_admin',
    )
    expect(await code(await call('/api/onboarding/verify', carol, { method: 'POST' }))).toBe(
      'not_tenant_admin',
    )
    const carolMe = (await (await call('/api/me', carol)).json()) as { canAdminister: boolean }
    expect(carolMe.canAdminister).toBe(false)
    const admin = keep(await t.userToken(ids.users.fabrikamAdmin))
    expect(((await (await call('/api/me', admin)).json()) as { canAdminister: boolean }).canAdminister).toBe(
      true,
    )
    const connection = await call('/api/onboarding/tenant', admin)
    expect(connection.status).toBe(200)
    const c = (await connection.json()) as {
      tenant: { status: string; onboardedByName: string }
      token: { ok: boolean }
      events: { action: string; by: { name: string } }[]
    }
    expect(c.tenant).toMatchObject({ status: 'verified', onboardedByName: 'Nestor Wilke' })
    expect(c.token.ok).toBe(true)
    expect(c.events[0]?.by.name).toBe('Nestor Wilke')
    const verify = (await (await call('/api/onboarding/verify', admin, { method: 'POST' })).json()) as {
      ok: boolean
    }
    expect(verify.ok).toBe(true)
  })
})

describe('data', () => {
  it('lists with paging and search, views, creates, edits with the etag (412 when stale) and deletes', async () => {
    const carol = keep(await t.userToken(ids.users.fabrikamCarol))
    const json = { 'Content-Type': 'application/json' }
    const created = await call('/api/tables/accounts', carol, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'Zeta Paging Test', address1_city: 'Lyon' }),
    })
    expect(created.status).toBe(201)
    const row = (await created.json()) as { id: string; etag: string; name: string }
    expect(row.name).toBe('Zeta Paging Test')
    const found = (await (await call('/api/tables/accounts?search=Zeta%20Paging', carol)).json()) as {
      rows: { id: string }[]
    }
    expect(found.rows.map((r) => r.id)).toEqual([row.id])
    const first = (await (await call('/api/tables/accounts?pageSize=1', carol)).json()) as {
      rows: { id: string }[]
      next: string
    }
    expect(first.rows).toHaveLength(1)
    const second = (await (
      await call(`/api/tables/accounts?pageSize=1&cursor=${encodeURIComponent(first.next)}`, carol)
    ).json()) as { rows: { id: string }[] }
    expect(second.rows[0]?.id).not.toBe(first.rows[0]?.id)
    expect(
      await code(
        await call(`/api/tables/accounts?pageSize=2&cursor=${encodeURIComponent(first.next)}`, carol),
      ),
    ).toBe('invalid_cursor')
    const edited = await call(`/api/tables/accounts/${row.id}`, carol, {
      method: 'PATCH',
      headers: { ...json, 'If-Match': row.etag },
      body: JSON.stringify({ name: 'Zeta Renamed' }),
    })
    expect(edited.status).toBe(200)
    const stale = await call(`/api/tables/accounts/${row.id}`, carol, {
      method: 'PATCH',
      headers: { ...json, 'If-Match': row.etag },
      body: JSON.stringify({ name: 'Lost update' }),
    })
    expect(stale.status).toBe(412)
    expect(await code(stale)).toBe('etag_mismatch')
    expect(
      (
        await call(`/api/tables/accounts/${row.id}`, carol, {
          method: 'PATCH',
          headers: json,
          body: '{"name":"x"}',
        })
      ).status,
    ).toBe(428)
    const view = (await (await call(`/api/tables/accounts/${row.id}`, carol)).json()) as { name: string }
    expect(view.name).toBe('Zeta Renamed')
    // A delete names the version too: none (or `*`) is 428, a stale one 412, and the row stays until the current one.
    for (const headers of [{}, { 'If-Match': '*' }]) {
      const blind = await call(`/api/tables/accounts/${row.id}`, carol, { method: 'DELETE', headers })
      expect(blind.status).toBe(428)
      expect(await code(blind)).toBe('etag_required')
    }
    const staleDelete = await call(`/api/tables/accounts/${row.id}`, carol, {
      method: 'DELETE',
      headers: { 'If-Match': row.etag },
    })
    expect(staleDelete.status).toBe(412)
    expect(await code(staleDelete)).toBe('etag_mismatch')
    const current = (await (await call(`/api/tables/accounts/${row.id}`, carol)).json()) as { etag: string }
    expect(
      (
        await call(`/api/tables/accounts/${row.id}`, carol, {
          method: 'DELETE',
          headers: { 'If-Match': current.etag },
        })
      ).status,
    ).toBe(204)
    expect((await call(`/api/tables/accounts/${row.id}`, carol)).status).toBe(404)
  })

  it('impersonation: records name the user; a user without the privilege gets a clear 403', async () => {
    const carol = keep(await t.userToken(ids.users.fabrikamCarol))
    const asMe = { 'X-Act-As': 'me', 'Content-Type': 'application/json' }
    const me = (await (await call('/api/me', carol, { headers: asMe })).json()) as {
      actor: string
      dataverseUserId: string
    }
    expect(me.actor).toBe('user')
    const created = await call('/api/tables/contacts', carol, {
      method: 'POST',
      headers: asMe,
      body: JSON.stringify({ lastname: 'Impersonated' }),
    })
    expect(created.status).toBe(201)
    const row = (await created.json()) as { createdby: string; createdonbehalfby: string | null }
    expect(row.createdby).toBe('Carol Clark')
    expect(row.createdonbehalfby).not.toBeNull()
    const dave = keep(await t.userToken(ids.users.fabrikamDave))
    const denied = await call('/api/tables/contacts', dave, {
      method: 'POST',
      headers: asMe,
      body: JSON.stringify({ lastname: 'Nope' }),
    })
    expect(denied.status).toBe(403)
    expect(await code(denied)).toBe('dataverse_forbidden')
  })
})

describe('onboarding', () => {
  const fabrikamAdmin = ids.users.fabrikamAdmin
  const start = async (orgUrl: string, cookie?: string) => {
    const s = await startOnboarding(t, fabrikamAdmin, { orgUrl }, cookie)
    const { consentUrl } = (await s.res.clone().json()) as { consentUrl: string }
    return {
      setCookie: s.res.headers.get('set-cookie') ?? '',
      cookie: s.cookie,
      state: keep(s.state),
      consentUrl,
    }
  }
  const callback = (query: string, cookie: string) => consentCallback(t, query, cookie)

  it('needs a signed-in admin of the org’s tenant to start', async () => {
    const orgUrl = t.org(ids.fabrikamTenantId).url
    const anonymous = await t.running.app.request('/api/onboarding/start', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ orgUrl }),
    })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('set-cookie')).toBeNull()
    const carol = await startOnboarding(t, ids.users.fabrikamCarol, { orgUrl })
    expect(await code(carol.res)).toBe('not_tenant_admin')
    const contosoAdmin = await startOnboarding(t, ids.users.contosoAdmin, { orgUrl })
    expect(await code(contosoAdmin.res)).toBe('org_in_other_tenant')
  })

  it('sets an HttpOnly, Secure, SameSite=Lax, host-only session cookie and a consent URL with a signed state', async () => {
    const s = await start(t.org(ids.fabrikamTenantId).url)
    expect(s.setCookie).toMatch(/^__Host-dvs2s-session=[A-Za-z0-9_-]{43};/)
    expect(s.setCookie).toMatch(/HttpOnly/)
    expect(s.setCookie).toMatch(/Secure/)
    expect(s.setCookie).toMatch(/SameSite=Lax/)
    expect(s.setCookie).toMatch(/Path=\//)
    expect(s.setCookie).not.toMatch(/Domain=/)
    const url = new URL(s.consentUrl)
    expect(url.pathname).toBe(`/${ids.fabrikamTenantId}/v2.0/adminconsent`)
    expect(url.searchParams.get('redirect_uri')).toBe('http://localhost:5173/onboarding/callback')
  })

  it('refuses a forged, replayed, expired or other-session state, and a consent from another tenant', async () => {
    const tenant = ids.fabrikamTenantId
    const before = await registrySnapshot(t, tenant)
    const s = await start(t.org(tenant).url)
    expect(
      (await callback(`admin_consent=True&tenant=${tenant}&state=forged.state`, s.cookie)).get('error'),
    ).toBe('INVALID_STATE')
    const [payload] = s.state.split('.')
    expect(
      (
        await callback(`admin_consent=True&tenant=${tenant}&state=${payload}.${'A'.repeat(43)}`, s.cookie)
      ).get('error'),
    ).toBe('INVALID_STATE')
    expect(
      (
        await callback(
          `admin_consent=True&tenant=${tenant}&state=${encodeURIComponent(s.state)}`,
          '__Host-dvs2s-session=other-session-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        )
      ).get('error'),
    ).toBe('STATE_SESSION_MISMATCH')
    const ok = await callback(
      `admin_consent=True&tenant=${tenant}&state=${encodeURIComponent(s.state)}`,
      s.cookie,
    )
    expect(keep(ok.get('ticket') ?? '')).toMatch(/\./)
    expect(
      (
        await callback(`admin_consent=True&tenant=${tenant}&state=${encodeURIComponent(s.state)}`, s.cookie)
      ).get('error'),
    ).toBe('STATE_REUSED')
    // Its single use is recorded in the registry's database, so a restarted or second instance refuses it too.
    const used = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as { n: string; e: number }
    expect(await t.running.registry.consumeConsentState(used.n, used.e)).toBe(false)
    const session = s.cookie.split('=')[1] ?? ''
    const old = createConsentStateManager({
      secret: t.running.services.stateSecret,
      now: () => Date.now() - 11 * 60_000,
    })
    const flow = { k: 'state', tid: tenant, oid: fabrikamAdmin, org: t.org(tenant).url, intent: 'connect' }
    const expired = keep(old.create(session, JSON.stringify(flow)))
    expect(
      (
        await callback(`admin_consent=True&tenant=${tenant}&state=${encodeURIComponent(expired)}`, s.cookie)
      ).get('error'),
    ).toBe('STATE_EXPIRED')
    const other = await start(t.org(tenant).url, s.cookie)
    expect(
      (
        await callback(
          `admin_consent=True&tenant=${ids.contosoTenantId}&state=${encodeURIComponent(other.state)}`,
          s.cookie,
        )
      ).get('error'),
    ).toBe('TENANT_MISMATCH')
    const denied = await start(t.org(tenant).url, s.cookie)
    const d = await callback(
      `error=access_denied&error_description=The+admin+canceled&state=${encodeURIComponent(denied.state)}`,
      s.cookie,
    )
    expect(d.get('error')).toBe('CONSENT_DENIED')
    expect(d.get('message')).toMatch(/administrator/)
    expect(await registrySnapshot(t, tenant)).toBe(before)
  })

  it('tells the admin the next step when provisioning fails or the org is unknown', async () => {
    const tenant = ids.fabrikamTenantId
    const orgUrl = t.org(tenant).url
    // Dave administers the directory (Application Administrator) but has no role in the Dataverse org.
    t.emulator.world.setDirectoryRoles(ids.users.fabrikamDave, [ids.directoryRoles.applicationAdministrator])
    try {
      const dave = keep(await t.userToken(ids.users.fabrikamDave))
      const daveOrg = keep(
        await t.emulator.world.mintUserAccessToken({
          userObjectId: ids.users.fabrikamDave,
          appId,
          resource: orgUrl,
        }),
      )
      const res = await call('/api/onboarding/provision', dave, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ dataverseToken: daveOrg }),
      })
      expect(res.status).toBe(409)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('not_org_admin')
      expect(body.error.message).toMatch(/System Administrator/)
    } finally {
      t.emulator.world.setDirectoryRoles(ids.users.fabrikamDave, [])
    }
    const unknown = await startOnboarding(t, fabrikamAdmin, { orgUrl: 'https://localhost:1' })
    expect(unknown.res.status).toBe(400)
    expect(await code(unknown.res)).toBe('org_not_found')
  })
})

describe('connection failures tell the admin the next step', () => {
  const verify = async () => {
    const admin = keep(await t.userToken(ids.users.fabrikamAdmin))
    return (await (await call('/api/onboarding/verify', admin, { method: 'POST' })).json()) as {
      ok: boolean
      code: string
      detail: string
    }
  }

  it('no (enabled) application user', async () => {
    const orgId = t.org(ids.fabrikamTenantId).id
    t.emulator.admin.setApplicationUserDisabled(orgId, appId, true)
    try {
      const r = await verify()
      expect(r).toMatchObject({ ok: false, code: 'application_user_missing' })
      expect(r.detail).toMatch(/set it up automatically, or create it by hand/)
    } finally {
      t.emulator.admin.setApplicationUserDisabled(orgId, appId, false)
    }
    expect((await verify()).ok).toBe(true)
  })

  it('consent removed from the tenant', async () => {
    const orgUrl = t.org(ids.fabrikamTenantId).url
    t.emulator.world.revokeConsent(ids.fabrikamTenantId, appId)
    t.running.services.tokens.invalidate({ tenantId: ids.fabrikamTenantId, resource: orgUrl })
    try {
      const r = await verify()
      expect(r).toMatchObject({ ok: false, code: 'consent_missing' })
      expect(r.detail).toMatch(/admin consent/)
    } finally {
      t.emulator.world.grantConsent(ids.fabrikamTenantId, appId)
    }
  })
})

describe('headers and logs', () => {
  it('sends security headers on API answers', async () => {
    const res = await call('/api/tables/accounts', keep(await t.userToken(ids.users.fabrikamCarol)))
    expect(res.headers.get('Content-Security-Policy')).toBe("default-src 'none'; frame-ancestors 'none'")
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(res.headers.get('X-Frame-Options')).toBe('DENY')
    expect(res.headers.get('Referrer-Policy')).toBe('no-referrer')
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const unauth = await call('/api/tables/accounts', undefined)
    expect(unauth.headers.get('X-Content-Type-Options')).toBe('nosniff')
  })

  it('never writes a token, state, secret or session id into a log line', () => {
    expect(t.logs.length).toBeGreaterThan(20)
    const all = t.logs.join('\n')
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/)
    expect(all).not.toContain(ids.multiTenantAppSecret)
    expect(all).not.toContain('test-state-secret-0123456789-abcdefghijkl')
    for (const s of secrets) {
      for (const part of s.split(/[ .]/).filter((p) => p.length >= 16)) expect(all).not.toContain(part)
    }
  })
})
