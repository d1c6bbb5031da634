import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectForTest, dropPrefix, newKey, uniquePrefix } from '../test/redis.ts'
import type { RedisConnection } from './connect.ts'
import { parseKeyRing } from './key-ring.ts'
import { createRedisTokenStore } from './token-store.ts'

const prefix = uniquePrefix()
const keyRing = parseKeyRing(`a:${newKey()}`)
let emulator: EmulatorHandle
let connections: RedisConnection[] = []

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  connections = await Promise.all([connectForTest(), connectForTest(), connectForTest()])
})
afterAll(async () => {
  await dropPrefix(connections[0] as RedisConnection, prefix)
  await Promise.all(connections.map((c) => c.close()))
  await emulator?.stop()
})

/** Five consented tenants, and three token providers on their own MSAL and Redis connection (three processes). */
function stormSetup(label: string) {
  const org = emulator.orgs.find((o) => o.id === defaultIds.contosoOrgId)
  if (!org) throw new Error('Contoso org missing')
  const tenants = Array.from({ length: 5 }, (_, i) => {
    const t = emulator.admin.createTenant({
      displayName: `${label} ${i}`,
      domain: `${label}-${i}-${Date.now()}.onmicrosoft.com`,
    })
    emulator.admin.grantConsent(t.id, defaultIds.multiTenantAppId)
    return t.id
  })
  const cloud = defineCloud({
    name: 'emulator',
    authorityHost: emulator.url,
    dataverseHosts: ['localhost'],
  })
  // separate MSAL instances and separate Redis connections: what three app processes have
  const providers = connections.map((redis) =>
    createTokenProvider({
      clientId: defaultIds.multiTenantAppId,
      credential: clientSecret(defaultIds.multiTenantAppSecret),
      cloud,
      http: { ca: emulator.caCertPem },
      cache: { store: createRedisTokenStore({ redis, keyRing, prefix, lease: { pollMs: 5 } }) },
    }),
  )
  return { org, tenants, providers }
}

describe('createRedisTokenStore behind core token providers (real MSAL, emulator)', () => {
  it('a cold storm over three providers (like three processes) makes one token request per tenant, every caller served', async () => {
    const { org, tenants, providers } = stormSetup('storm')
    const before = emulator.admin.counters().totals.tokenRequests
    const results = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) =>
        (providers[i % 3] as (typeof providers)[0]).getToken({
          tenantId: tenants[i % tenants.length] as string,
          resource: org.url,
        }),
      ),
    )
    const failed = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r.reason as { code?: string }).code)
    expect(failed).toEqual([])
    expect(emulator.admin.counters().totals.tokenRequests - before).toBe(tenants.length)
    // every caller of one tenant holds the same token, whichever process served it
    for (let t = 0; t < tenants.length; t++) {
      const tokens = results
        .filter((_, i) => i % tenants.length === t)
        .map((r) => (r as PromiseFulfilledResult<{ token: string }>).value.token)
      expect(new Set(tokens).size).toBe(1)
    }
  })
  it("serves every caller when a holder's token request is lost on the way: another instance takes over and the holder's callers join it", async () => {
    const { org, tenants, providers } = stormSetup('lost')
    emulator.admin.injectFault({ scope: 'entra', kind: 'drop', next: 2, path: '/oauth2/v2.0/token' })
    const results = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) =>
        (providers[i % 3] as (typeof providers)[0]).getToken({
          tenantId: tenants[i % tenants.length] as string,
          resource: org.url,
        }),
      ),
    )
    const failed = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r.reason as { code?: string }).code)
    expect(failed).toEqual([])
    // every caller of one tenant holds the same token, whichever process served it
    for (let t = 0; t < tenants.length; t++) {
      const tokens = results
        .filter((_, i) => i % tenants.length === t)
        .map((r) => (r as PromiseFulfilledResult<{ token: string }>).value.token)
      expect(new Set(tokens).size).toBe(1)
    }
  })
})
