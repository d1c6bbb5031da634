import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../src/index.ts'

const ids = defaultIds
let emulator: EmulatorHandle
let restoreDispatcher: () => void

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restoreDispatcher = emulator.trust.installGlobally()
})
afterAll(async () => {
  restoreDispatcher?.()
  await emulator?.stop()
})

const names = [
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'scope',
  'resource',
  'code',
  'code_verifier',
  'redirect_uri',
  'refresh_token',
  'response_type',
  'response_mode',
  'state',
  'nonce',
  'prompt',
  'login_hint',
  'code_challenge',
  'code_challenge_method',
]
const values = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'client_credentials',
    'authorization_code',
    'refresh_token',
    ids.multiTenantAppId,
    ids.multiTenantAppSecret,
    'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    'eyJhbGciOiJQUzI1NiJ9.eyJ9.x',
    'https://localhost:1/.default',
    'http://localhost:5173',
    'code',
    'fragment',
    'none',
    'S256',
  ),
)
const params = fc.array(fc.tuple(fc.constantFrom(...names), values), { maxLength: 8 })
const tenants = fc.constantFrom(
  ids.contosoTenantId,
  'contoso.onmicrosoft.com',
  'organizations',
  'common',
  'nope',
  '%00',
  'ümlaut',
)

describe('Entra endpoints under arbitrary input', () => {
  it('the token endpoint answers 200 or an Entra-shaped 4xx, never a 5xx, and never echoes a secret', async () => {
    await fc.assert(
      fc.asyncProperty(tenants, params, async (tenant, pairs) => {
        const res = await fetch(`${emulator.url}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(pairs),
        })
        expect(res.status).toBeLessThan(500)
        const body = (await res.json()) as Record<string, unknown>
        if (res.status !== 200) {
          expect(typeof body.error).toBe('string')
          expect(Array.isArray(body.error_codes)).toBe(true)
          expect(String(body.error_description)).toMatch(/^AADSTS\d+: /)
          // A secret may legitimately appear when the same text was also sent as another field (the grant type
          // is quoted back in its error) or is a parameter name the error names ('refresh_token'), so only secrets
          // that appear nowhere else are checked.
          const elsewhere = (v: string) =>
            names.includes(v) || pairs.some(([k, other]) => k !== 'client_secret' && other === v)
          for (const [k, v] of pairs)
            if (k === 'client_secret' && v.length >= 12 && !elsewhere(v))
              expect(JSON.stringify(body)).not.toContain(v)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('the authorize and admin consent endpoints answer a page or a redirect, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        tenants,
        params,
        fc.constantFrom('oauth2/v2.0/authorize', 'oauth2/authorize', 'adminconsent', 'v2.0/adminconsent'),
        async (tenant, pairs, path) => {
          const res = await fetch(
            `${emulator.url}/${encodeURIComponent(tenant)}/${path}?${new URLSearchParams(pairs)}`,
            { redirect: 'manual' },
          )
          expect(res.status).toBeLessThan(500)
          expect([200, 302, 400]).toContain(res.status)
          await res.arrayBuffer()
        },
      ),
      { numRuns: 60 },
    )
  })
})
