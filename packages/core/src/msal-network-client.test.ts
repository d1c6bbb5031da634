import { type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMsalNetworkClient } from './msal-network-client.ts'

let emulator: EmulatorHandle
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
}, 60_000)
afterAll(() => emulator?.stop())

describe('createMsalNetworkClient', () => {
  it("reaches an HTTPS server signed by the extra CA (the emulator's), and is refused without it", async () => {
    const url = `${emulator.url}/common/v2.0/.well-known/openid-configuration`
    const res = await createMsalNetworkClient({ ca: emulator.caCertPem }).sendGetRequestAsync<{
      issuer: string
    }>(url)
    expect(res.status).toBe(200)
    expect(res.body.issuer).toContain('/v2.0')

    await expect(createMsalNetworkClient().sendGetRequestAsync(url)).rejects.toThrow()
  })
})
