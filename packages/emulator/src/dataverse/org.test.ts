import { describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'

describe('org app: authentication', () => {
  it('challenges an unauthenticated request with the tenant authority and the org resource', async () => {
    const { request, url } = await setup()
    const res = await request(`${API}/`, { token: null })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer authorization_uri=https://localhost:8443/${ids.contosoTenantId}/oauth2/authorize, resource_id=${url}/`,
    )
  })

  it('answers WhoAmI with the application user of the calling app', async () => {
    const { request, org } = await setup()
    const res = await request(`${API}/WhoAmI`)
    expect(res.status).toBe(200)
    expect(res.headers.get('odata-version')).toBe('4.0')
    expect(res.headers.get('x-ms-service-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const body = (await res.json()) as Record<string, string>
    expect(body.OrganizationId).toBe(ids.contosoOrgId)
    const users = await request(
      `${API}/systemusers?$filter=applicationid eq ${ids.multiTenantAppId}&$select=systemuserid,fullname`,
    )
    const list = (await users.json()) as { value: { systemuserid: string }[] }
    expect(list.value[0]?.systemuserid).toBe(body.UserId)
    expect(org.data.count('account')).toBe(200)
  })
})

describe('org app: CRUD', () => {
  it('creates, reads, updates and deletes an account', async () => {
    const { request } = await setup()
    const created = await request(`${API}/accounts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Emulated Ltd', accountnumber: 'EMU-1' }),
    })
    expect(created.status).toBe(204)
    const entityId = created.headers.get('odata-entityid') as string
    expect(entityId).toMatch(/^https:\/\/localhost:8444\/api\/data\/v9\.2\/accounts\([0-9a-f-]{36}\)$/)
    const read = await request(`${entityId}?$select=name,accountnumber`)
    expect(read.status).toBe(200)
    const body = (await read.json()) as Record<string, unknown>
    expect(body.name).toBe('Emulated Ltd')
    const etag = read.headers.get('etag') as string
    expect(body['@odata.etag']).toBe(etag)
    const updated = await request(entityId, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', 'If-Match': etag, Prefer: 'return=representation' },
      body: JSON.stringify({ name: 'Renamed' }),
    })
    expect(updated.status).toBe(200)
    expect(((await updated.json()) as Record<string, unknown>).name).toBe('Renamed')
    const stale = await request(entityId, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', 'If-Match': etag },
      body: JSON.stringify({ name: 'Stale' }),
    })
    expect(stale.status).toBe(412)
    const del = await request(entityId, { method: 'DELETE' })
    expect(del.status).toBe(204)
    const gone = await request(entityId)
    expect(gone.status).toBe(404)
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('0x80040217')
  })
})
