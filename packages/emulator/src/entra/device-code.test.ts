// The device authorization grant, as a device (plain fetch) and a user on the verification page (plain form posts) do it.
import { decodeJwt } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../index.ts'

let emulator: EmulatorHandle
let restore: () => void
let orgUrl: string

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restore = emulator.trust.installGlobally()
  orgUrl = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)?.url ?? ''
})
afterAll(async () => {
  restore?.()
  await emulator?.stop()
})
afterEach(() => {
  vi.useRealTimers()
})

const form = (url: string, fields: Record<string, string>) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  })

async function start(tenant = defaultIds.contosoTenantId) {
  const res = await form(`${emulator.url}/${tenant}/oauth2/v2.0/devicecode`, {
    client_id: defaultIds.multiTenantAppId,
    scope: `${orgUrl}/user_impersonation openid offline_access`,
  })
  expect(res.status).toBe(200)
  return (await res.json()) as {
    device_code: string
    user_code: string
    verification_uri: string
    expires_in: number
    interval: number
    message: string
  }
}

const poll = (deviceCode: string, extra: Record<string, string> = {}) =>
  form(`${emulator.url}/${defaultIds.contosoTenantId}/oauth2/v2.0/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    client_id: defaultIds.multiTenantAppId,
    client_secret: defaultIds.multiTenantAppSecret,
    device_code: deviceCode,
    ...extra,
  })

/** The user's side: open the verification page, enter the code, pick the account, then accept or cancel. */
async function playUser(verificationUri: string, code: string, upn: string, consent: 'accept' | 'cancel') {
  const entry = await fetch(verificationUri)
  expect(await entry.text()).toContain('name="otc"')
  const signIn = await form(verificationUri, { __step: 'code', otc: code })
  expect(await signIn.text()).toContain(upn)
  const approve = await form(verificationUri, { __step: 'signin', otc: code, login: upn })
  expect(approve.status).toBe(200)
  const done = await form(verificationUri, { __step: 'approve', otc: code, login: upn, consent })
  return done.text()
}

describe('device code grant', () => {
  it('answers the devicecode request as Entra does, then pending, slow_down, and a user token once approved', async () => {
    const dc = await start()
    expect(dc).toMatchObject({ expires_in: 900, interval: 5 })
    expect(dc.user_code).toMatch(/^[A-Z0-9]{9}$/)
    expect(dc.message).toContain(dc.user_code)
    const pending = await poll(dc.device_code)
    expect(pending.status).toBe(400)
    expect(await pending.json()).toMatchObject({ error: 'authorization_pending', error_codes: [70016] })
    // a second poll at once is faster than `interval`
    const fast = await poll(dc.device_code)
    expect(await fast.json()).toMatchObject({ error: 'slow_down' })

    expect(
      await playUser(
        dc.verification_uri,
        dc.user_code.toLowerCase(),
        'admin@contoso.onmicrosoft.com',
        'accept',
      ),
    ).toContain('You have signed in')
    const ok = await poll(dc.device_code)
    expect(ok.status).toBe(200)
    const tokens = (await ok.json()) as Record<string, string>
    expect(tokens['refresh_token']).toBeTruthy()
    const claims = decodeJwt(tokens['access_token'] ?? '')
    expect(claims).toMatchObject({
      aud: orgUrl,
      tid: defaultIds.contosoTenantId,
      oid: defaultIds.users.contosoAdmin,
      scp: 'user_impersonation',
    })
    // single use
    expect(await (await poll(dc.device_code)).json()).toMatchObject({ error: 'bad_verification_code' })
  })

  it('reports authorization_declined when the user cancels, and refuses a wrong code on the page', async () => {
    const dc = await start()
    const wrong = await form(dc.verification_uri, { __step: 'code', otc: 'NOTACODE1' })
    expect(wrong.status).toBe(400)
    expect(await wrong.text()).toContain('AADSTS70000')
    await playUser(dc.verification_uri, dc.user_code, 'admin@contoso.onmicrosoft.com', 'cancel')
    expect(await (await poll(dc.device_code)).json()).toMatchObject({ error: 'authorization_declined' })
  })

  it('keeps users of other tenants out of a tenant-specific request', async () => {
    const dc = await start()
    await form(dc.verification_uri, { __step: 'code', otc: dc.user_code })
    const res = await form(dc.verification_uri, {
      __step: 'signin',
      otc: dc.user_code,
      login: 'admin@fabrikam.onmicrosoft.com',
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('AADSTS50020')
  })

  it('answers expired_token once expires_in has passed', async () => {
    const dc = await start()
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 901_000)
    expect(await (await poll(dc.device_code)).json()).toMatchObject({ error: 'expired_token' })
  })

  it('requires the client to authenticate: no app allows public client flows', async () => {
    const dc = await start()
    const res = await poll(dc.device_code, { client_secret: '' })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'invalid_client', error_codes: [7000218] })
  })
})
