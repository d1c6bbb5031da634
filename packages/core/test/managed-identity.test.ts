// Managed identity through MSAL's ManagedIdentityApplication, against a loopback stand-in for the App Service
// identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER, api-version 2019-08-01). Nothing leaves loopback.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenProvider, managedIdentity } from '../src/index.ts'

let server: Server
const seen: { url: string; header: string | undefined }[] = []
const saved = { endpoint: process.env['IDENTITY_ENDPOINT'], header: process.env['IDENTITY_HEADER'] }

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', header: req.headers['x-identity-header'] as string | undefined })
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.headers['x-identity-header'] !== 'mi-header-secret') {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'unauthorized' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        access_token: `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ n: seen.length })).toString('base64url')}.c2ln`,
        expires_on: Math.floor(Date.now() / 1000) + 3600,
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
        client_id: url.searchParams.get('client_id') ?? 'system',
      }),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  process.env['IDENTITY_ENDPOINT'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`
  process.env['IDENTITY_HEADER'] = 'mi-header-secret'
})
afterAll(async () => {
  if (saved.endpoint === undefined) delete process.env['IDENTITY_ENDPOINT']
  else process.env['IDENTITY_ENDPOINT'] = saved.endpoint
  if (saved.header === undefined) delete process.env['IDENTITY_HEADER']
  else process.env['IDENTITY_HEADER'] = saved.header
  await new Promise((r) => server.close(r))
})

describe('managed identity', () => {
  it('gets a token for the org through MSAL, caches it and shares one request among concurrent callers', async () => {
    const tokens = createTokenProvider({
      clientId: '00000000-0000-0000-0000-00000000000a',
      credential: managedIdentity(),
    })
    const resource = 'https://contoso.crm.dynamics.com'
    const results = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken({ resource })))
    expect(new Set(results.map((r) => r.token)).size).toBe(1)
    expect(seen).toHaveLength(1)
    const url = new URL(seen[0]!.url, 'http://x')
    expect(url.searchParams.get('resource')).toBe(resource)
    expect(url.searchParams.get('api-version')).toBe('2019-08-01')
    expect(results[0]!.expiresOn.getTime()).toBeGreaterThan(Date.now() + 3_000_000)
    await tokens.getToken({ resource })
    expect(seen).toHaveLength(1)
  })

  it('names a user-assigned identity by one id only', () => {
    expect(() =>
      createTokenProvider({
        clientId: '00000000-0000-0000-0000-00000000000a',
        credential: managedIdentity({ clientId: 'a', objectId: 'b' }),
      }),
    ).toThrow(/one id/)
  })
})
