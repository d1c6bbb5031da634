// The device code client against the emulator over real HTTPS; the test plays the user with plain form posts.
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineCloud } from './clouds.ts'
import { clientSecret } from './credentials.ts'
import { acquireTokenByDeviceCode, type DeviceCodePrompt } from './device-code.ts'
import { TokenError } from './errors.ts'

let emulator: EmulatorHandle
let orgUrl: string
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  orgUrl = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)?.url ?? ''
})
afterAll(async () => {
  await emulator?.stop()
})

async function post(url: string, fields: Record<string, string>) {
  const { request } = await import('node:https')
  return new Promise<string>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: emulator.caCertPem,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let text = ''
        res.on('data', (c) => {
          text += c
        })
        res.on('end', () => resolve(text))
      },
    )
    req.on('error', reject)
    req.end(new URLSearchParams(fields).toString())
  })
}

const options = () => ({
  clientId: defaultIds.multiTenantAppId,
  credential: clientSecret(defaultIds.multiTenantAppSecret),
  tenant: defaultIds.contosoTenantId,
  scopes: [`${orgUrl}/user_impersonation`],
  cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url, dataverseHosts: ['localhost'] }),
  http: { ca: emulator.caCertPem },
})

describe('acquireTokenByDeviceCode', () => {
  it('shows the code, keeps polling through authorization_pending and returns the user token', async () => {
    const waits: number[] = []
    let prompt: DeviceCodePrompt | undefined
    let approved = false
    const result = await acquireTokenByDeviceCode({
      ...options(),
      onPrompt: (p) => {
        prompt = p
      },
      sleep: async (ms) => {
        waits.push(ms)
        // the user signs in only after the device polled twice (and once too fast: slow_down)
        if (waits.length === 3 && prompt && !approved) {
          approved = true
          const at = prompt.verificationUri
          await post(at, { __step: 'code', otc: prompt.userCode })
          await post(at, { __step: 'signin', otc: prompt.userCode, login: 'admin@contoso.onmicrosoft.com' })
          await post(at, {
            __step: 'approve',
            otc: prompt.userCode,
            login: 'admin@contoso.onmicrosoft.com',
            consent: 'accept',
          })
        }
      },
    })
    expect(prompt?.message).toContain(prompt?.userCode)
    // 5 s from the server; the second poll came "too early" (the fake sleep does not wait): +5 s
    expect(waits).toEqual([5000, 5000, 10000])
    expect(decodeJwt(result.accessToken)).toMatchObject({ aud: orgUrl, oid: defaultIds.users.contosoAdmin })
  })

  it('fails with DEVICE_CODE_DECLINED when the user cancels, and never prints the secret', async () => {
    let prompt: DeviceCodePrompt | undefined
    const err = await acquireTokenByDeviceCode({
      ...options(),
      onPrompt: async (p) => {
        prompt = p
        await post(p.verificationUri, { __step: 'code', otc: p.userCode })
        await post(p.verificationUri, {
          __step: 'approve',
          otc: p.userCode,
          login: 'admin@contoso.onmicrosoft.com',
          consent: 'cancel',
        })
      },
      sleep: async () => {},
    }).catch((e: unknown) => e)
    expect(prompt).toBeDefined()
    expect(err).toBeInstanceOf(TokenError)
    expect(err).toMatchObject({ code: 'DEVICE_CODE_DECLINED' })
  })

  it('maps a wrong secret to INVALID_CLIENT_SECRET without the secret in the message', async () => {
    const err = await acquireTokenByDeviceCode({
      ...options(),
      credential: clientSecret('wrong-secret-value'),
      onPrompt: () => {},
      sleep: async () => {},
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'INVALID_CLIENT_SECRET' })
    expect(String((err as Error).message)).not.toContain('wrong-secret-value')
  })

  it('stops when the signal aborts', async () => {
    const ac = new AbortController()
    const err = await acquireTokenByDeviceCode({
      ...options(),
      signal: ac.signal,
      onPrompt: () => ac.abort(new Error('stopped by the user')),
    }).catch((e: unknown) => e)
    expect((err as Error).message).toBe('stopped by the user')
  })
})
