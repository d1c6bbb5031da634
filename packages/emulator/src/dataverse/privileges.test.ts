import { describe, expect, it } from 'vitest'
import { defaultSeed } from '../world/default-seed.ts'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'
const json = { 'Content-Type': 'application/json' }

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error
}

describe('privilege checks on every verb', () => {
  it('refuses an update (PATCH and PUT of one column) without prvWrite, and leaves the row unchanged', async () => {
    const env = await setup({
      seed: {
        roles: [{ name: 'Create and read', privileges: ['prvCreateAccount', 'prvReadAccount'] }],
        systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['Create and read'] }],
        sampleData: false,
      },
    })
    const created = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: '{"name":"before"}',
    })
    expect(created.status).toBe(204)
    const row = created.headers.get('odata-entityid') as string

    const patch = await env.request(row, { method: 'PATCH', headers: json, body: '{"name":"after"}' })
    expect(patch.status).toBe(403)
    const error = await errorOf(patch)
    expect(error.code).toBe('0x80040220')
    expect(error.message).toContain('prvWriteAccount')

    const put = await env.request(`${row}/name`, { method: 'PUT', headers: json, body: '{"value":"after"}' })
    expect(put.status).toBe(403)

    const read = (await (await env.request(`${row}?$select=name`)).json()) as { name: string }
    expect(read.name).toBe('before')
  })
})

describe('token tenant', () => {
  it("refuses a genuine, correctly signed token of another tenant for this org's audience", async () => {
    const env = await setup({ world: defaultSeed() })
    env.world.grantConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    // Signed by the emulator's real keys, issuer consistent with its own tid, audience this org: only the tenant
    // check stands between it and the org (a tampered token would already fail on its signature).
    const foreign = await env.world.mintAppToken({
      tenantId: ids.fabrikamTenantId,
      appId: ids.multiTenantAppId,
      resource: env.url,
    })
    const res = await env.request(`${API}/WhoAmI`, { token: foreign })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain(`/${ids.contosoTenantId}/oauth2/authorize`)
  })
})
