import { ConfidentialClientApplication } from '@azure/msal-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../index.ts'

// Over real HTTPS, with tokens from the real @azure/msal-node (client credentials against the emulated Entra ID).
const ids = defaultIds
let emulator: EmulatorHandle
let restore: () => void
let api: string
let token: string

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restore = emulator.trust.installGlobally()
  const contoso = emulator.orgs.find((o) => o.id === ids.contosoOrgId)
  if (!contoso) throw new Error('no Contoso org')
  api = `${contoso.url}/api/data/v9.2`
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: ids.multiTenantAppId,
      clientSecret: ids.multiTenantAppSecret,
      ...emulator.msalAuth(ids.contosoTenantId),
    },
  })
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${contoso.url}/.default`] })
  token = result?.accessToken ?? ''
})

afterAll(async () => {
  restore?.()
  await emulator?.stop()
})

const call = (path: string, init: RequestInit = {}) =>
  fetch(path.startsWith('https:') ? path : `${api}/${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      'OData-MaxVersion': '4.0',
      'OData-Version': '4.0',
      ...(init.body ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      ...(init.headers as Record<string, string> | undefined),
    },
  })

describe('Dataverse Web API over HTTPS with an msal-node token', () => {
  it('answers WhoAmI with the application user', async () => {
    const res = await call('WhoAmI')
    expect(res.status).toBe(200)
    const who = (await res.json()) as { UserId: string; BusinessUnitId: string; OrganizationId: string }
    expect(who.OrganizationId).toBe(ids.contosoOrgId)
    const me = (await (
      await call(`systemusers(${who.UserId})?$select=fullname,applicationid`)
    ).json()) as Record<string, string>
    expect(me.applicationid).toBe(ids.multiTenantAppId)
  })

  it('creates, reads, updates and deletes', async () => {
    const created = await call('contacts', {
      method: 'POST',
      body: JSON.stringify({ firstname: 'Https', lastname: 'Tester' }),
    })
    expect(created.status).toBe(204)
    const url = created.headers.get('OData-EntityId') as string
    expect((await (await call(`${url}?$select=fullname`)).json()) as Record<string, string>).toMatchObject({
      fullname: 'Https Tester',
    })
    expect(
      (await call(url, { method: 'PATCH', body: '{"jobtitle":"QA"}', headers: { 'If-Match': '*' } })).status,
    ).toBe(204)
    expect((await call(url, { method: 'DELETE' })).status).toBe(204)
    expect((await call(url)).status).toBe(404)
  })

  it('pages through 12,000 rows following @odata.nextLink', async () => {
    emulator.admin.insertRows(
      ids.contosoOrgId,
      'account',
      Array.from({ length: 12_000 }, (_, i) => ({ name: `Paged ${i}`, address1_country: 'Pageland' })),
    )
    let next: string | undefined = `${api}/accounts?$select=name&$filter=address1_country eq 'Pageland'`
    const names = new Set<string>()
    let pages = 0
    while (next) {
      // bounded: 12,000 rows are 3 pages of 5,000; a nextLink that never ends fails here instead of looping
      expect(pages++).toBeLessThan(3)
      const res = await call(next, { headers: { Prefer: 'odata.maxpagesize=5000' } })
      const page = (await res.json()) as { value: { name: string }[]; '@odata.nextLink'?: string }
      for (const r of page.value) names.add(r.name)
      next = page['@odata.nextLink']
    }
    expect(names.size).toBe(12_000)
  })

  it('rolls back a failing change set in a $batch', async () => {
    const before = emulator.admin.org(ids.contosoOrgId).data.count('account')
    const part = (id: number, method: string, url: string, body: unknown) =>
      `--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ${id}\r\n\r\n${method} ${url} HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n${JSON.stringify(body)}\r\n`
    const body = `--batch_x\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n${part(1, 'POST', `${api}/accounts`, { name: 'in batch' })}${part(2, 'POST', `${api}/accounts`, { name: 'x'.repeat(161) })}--cs--\r\n--batch_x--\r\n`
    const res = await call('$batch', {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'multipart/mixed; boundary=batch_x' },
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('0x80044331')
    expect(emulator.admin.org(ids.contosoOrgId).data.count('account')).toBe(before)
  })

  it('impersonates a user with the privilege, and refuses a caller without it', async () => {
    const asAlice = await call('WhoAmI', { headers: { CallerObjectId: ids.users.contosoAlice } })
    expect(asAlice.status).toBe(200)
    const alice = (await asAlice.json()) as { UserId: string }
    const who = (await (await call('WhoAmI')).json()) as { UserId: string }
    expect(alice.UserId).not.toBe(who.UserId)
    // an app whose application user only holds Basic User (no prvActOnBehalfOfAnotherUser)
    const app = await emulator.admin.createApp({
      homeTenantId: ids.isvTenantId,
      displayName: 'Reader',
      signInAudience: 'AzureADMultipleOrgs',
      secrets: ['reader-secret'],
    })
    emulator.admin.grantConsent(ids.contosoTenantId, app.appId)
    emulator.admin.createApplicationUser(ids.contosoOrgId, app.appId, ['Basic User'])
    const cca = new ConfidentialClientApplication({
      auth: { clientId: app.appId, clientSecret: 'reader-secret', ...emulator.msalAuth(ids.contosoTenantId) },
    })
    const single = await cca.acquireTokenByClientCredential({ scopes: [`${new URL(api).origin}/.default`] })
    const plain = await fetch(`${api}/WhoAmI`, {
      headers: { Authorization: `Bearer ${single?.accessToken}` },
    })
    expect(plain.status).toBe(200)
    const denied = await fetch(`${api}/WhoAmI`, {
      headers: { Authorization: `Bearer ${single?.accessToken}`, CallerObjectId: ids.users.contosoAlice },
    })
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('0x80040220')
  })

  it('throttles with 429, Retry-After and the x-ms-ratelimit headers', async () => {
    emulator.admin.setLimits(ids.contosoOrgId, { requestsPerWindow: 3, windowSeconds: 30 })
    try {
      let res: Response | undefined
      for (let i = 0; i < 10; i++) {
        res = await call('WhoAmI')
        if (res.status === 429) break
      }
      if (!res) throw new Error('no response')
      expect(res.status).toBe(429)
      expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('0x80072322')
    } finally {
      emulator.admin.setLimits(ids.contosoOrgId, { requestsPerWindow: 6000, windowSeconds: 300 })
    }
  })
})
