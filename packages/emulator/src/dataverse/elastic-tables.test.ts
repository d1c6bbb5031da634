import { beforeAll, describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

// Microsoft Learn, "Use DeleteMultiple": POST {set}/Microsoft.Dynamics.CRM.DeleteMultiple with entity references as
// targets (`@odata.type`, the primary key, `partitionid`), 204; elastic tables only.

const API = '/api/data/v9.2'
const json = { 'Content-Type': 'application/json' }
const TYPE = 'Microsoft.Dynamics.CRM.contoso_sensordata'
let env: Awaited<ReturnType<typeof setup>>

beforeAll(async () => {
  env = await setup({
    seed: {
      sampleData: false,
      tables: [
        {
          logicalName: 'contoso_sensordata',
          entitySetName: 'contoso_sensordatas',
          primaryName: 'contoso_sensortype',
          tableType: 'Elastic',
          columns: [{ name: 'contoso_sensortype', type: 'string' }],
        },
      ],
      systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['System Administrator'] }],
    },
  })
})

async function create(partitionid: string): Promise<string> {
  const res = await env.request(`${API}/contoso_sensordatas`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ contoso_sensortype: 'Humidity', partitionid }),
  })
  return /\(([^)]+)\)$/.exec(res.headers.get('odata-entityid') ?? '')?.[1] as string
}

const deleteMultiple = (set: string, targets: unknown[]) =>
  env.request(`${API}/${set}/Microsoft.Dynamics.CRM.DeleteMultiple`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ Targets: targets }),
  })

const exists = async (id: string) => (await env.request(`${API}/contoso_sensordatas(${id})`)).status === 200

describe('DeleteMultiple', () => {
  it('deletes the rows of an elastic table named by id and partitionid, answering 204', async () => {
    const a = await create('Device-ABC-1234')
    const b = await create('Device-ABC-1234')
    const kept = await create('Device-ABC-1234')
    const res = await deleteMultiple(
      'contoso_sensordatas',
      [a, b].map((id) => ({ '@odata.type': TYPE, contoso_sensordataid: id, partitionid: 'Device-ABC-1234' })),
    )
    expect(res.status).toBe(204)
    expect([await exists(a), await exists(b), await exists(kept)]).toEqual([false, false, true])
  })

  it('deletes nothing when a target names a row that is not there (another partition), and answers 404', async () => {
    const a = await create('p-1')
    const b = await create('p-1')
    const res = await deleteMultiple('contoso_sensordatas', [
      { '@odata.type': TYPE, contoso_sensordataid: a, partitionid: 'p-1' },
      { '@odata.type': TYPE, contoso_sensordataid: b, partitionid: 'p-2' },
    ])
    expect(res.status).toBe(404)
    expect([await exists(a), await exists(b)]).toEqual([true, true])
  })

  it('refuses a target without its primary key', async () => {
    const res = await deleteMultiple('contoso_sensordatas', [{ '@odata.type': TYPE, partitionid: 'p-1' }])
    expect(res.status).toBe(400)
  })

  it('is not served on a standard table, as Learn says', async () => {
    const res = await deleteMultiple('accounts', [
      { '@odata.type': 'Microsoft.Dynamics.CRM.account', accountid: '00000000-0000-0000-0000-000000000001' },
    ])
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'DeleteMultiple has not yet been implemented.',
    )
  })

  it("reports the table's TableType as Elastic", async () => {
    const res = await env.request(
      `${API}/EntityDefinitions(LogicalName='contoso_sensordata')?$select=TableType`,
    )
    expect(((await res.json()) as { TableType: string }).TableType).toBe('Elastic')
  })
})

describe('session tokens (Use elastic tables using code)', () => {
  it('a create and an update of an elastic table answer x-ms-session-token; a standard table does not', async () => {
    const created = await env.request(`${API}/contoso_sensordatas`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ contoso_sensortype: 'Humidity', partitionid: 'deviceid-001' }),
    })
    expect(created.status).toBe(204)
    expect(created.headers.get('x-ms-session-token')).toMatch(/^\S+$/)
    const id = /\(([^)]+)\)$/.exec(created.headers.get('odata-entityid') ?? '')?.[1] as string
    const updated = await env.request(
      `${API}/contoso_sensordatas(contoso_sensordataid=${id},partitionid='deviceid-001')`,
      { method: 'PATCH', headers: { ...json, 'If-Match': '*' }, body: '{"contoso_sensortype":"Pressure"}' },
    )
    expect(updated.status).toBe(204)
    const token = updated.headers.get('x-ms-session-token') as string
    expect(token).toMatch(/^\S+$/)
    const read = await env.request(`${API}/contoso_sensordatas(${id})?$select=contoso_sensortype`, {
      headers: { 'MSCRM.SessionToken': token },
    })
    expect(((await read.json()) as { contoso_sensortype: string }).contoso_sensortype).toBe('Pressure')
    const standard = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: '{"name":"S"}',
    })
    expect(standard.headers.get('x-ms-session-token')).toBeNull()
  })
})
