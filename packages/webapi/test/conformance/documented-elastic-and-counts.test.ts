import { describe, expect, it } from 'vitest'
import { createDataverseClient, type DataverseError } from '../../src/index.ts'
import { record } from './record.ts'
import type { Recorded, Reply } from './recording-server.ts'

// Requests from Learn pages on counting FetchXML results and on elastic tables (Count rows using FetchXml, Use
// DeleteMultiple, Use elastic tables using code), each sent through the real client to a plain recording server.

const API = '/api/data/v9.2'
const json = (body: object, headers?: Record<string, string>): Reply => ({
  status: 200,
  body,
  ...(headers ? { headers } : {}),
})
const option = (r: Recorded | undefined, name: string) =>
  new URLSearchParams((r?.target ?? '').split('?')[1] ?? '').get(name)

describe('Count rows using FetchXml', () => {
  const xml = `<fetch returntotalrecordcount='true'><entity name='account'><attribute name='name'/></entity></fetch>`

  it('returntotalrecordcount: asks for the two count annotations and returns @odata.count and both of them', async () => {
    const { requests, result } = await record(
      () =>
        json({
          '@odata.count': 5000,
          '@Microsoft.Dynamics.CRM.totalrecordcount': 5000,
          '@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded': true,
          '@Microsoft.Dynamics.CRM.morerecords': true,
          value: [{ name: 'Fourth Coffee' }],
        }),
      (c) => c.fetchXmlPage('accounts', xml),
    )
    const [r] = requests as [Recorded]
    expect(r.target.split('?')[0]).toBe(`${API}/accounts`)
    expect(option(r, 'fetchXml')).toBe(xml)
    // Learn: `Prefer: odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"`
    // (with the paging annotations fetchXmlPage always reads).
    expect(r.headers.prefer).toBe(
      'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords,Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"',
    )
    expect(result).toEqual({
      value: [{ name: 'Fourth Coffee' }],
      moreRecords: true,
      page: 1,
      count: 5000,
      totalRecordCount: 5000,
      totalRecordCountLimitExceeded: true,
    })
  })

  it('a query without returntotalrecordcount asks for no count annotation and returns no count', async () => {
    const plainXml = `<fetch><entity name='account'><attribute name='name'/></entity></fetch>`
    const { requests, result } = await record(
      () => json({ value: [] }),
      (c) => c.fetchXmlPage('accounts', plainXml),
    )
    expect(requests[0]?.headers.prefer).not.toContain('totalrecordcount')
    expect(result).toEqual({ value: [], moreRecords: false, page: 1 })
  })

  it('annotations: "*" already covers the count annotations', async () => {
    const { requests } = await record(
      () => json({ value: [] }),
      (c) => c.fetchXmlPage('accounts', xml, { annotations: '*' }),
    )
    expect(requests[0]?.headers.prefer).toBe('odata.include-annotations="*"')
  })
})

describe('Use DeleteMultiple', () => {
  const sensorData = { entitySet: 'contoso_sensordatas', logicalName: 'contoso_sensordata' }
  const ids = [
    '6114ca58-0928-ee11-9965-6045bd5cd155',
    '6214ca58-0928-ee11-9965-6045bd5cd155',
    '6314ca58-0928-ee11-9965-6045bd5cd155',
  ]

  it('POST contoso_sensordatas/Microsoft.Dynamics.CRM.DeleteMultiple with the targets as entity references', async () => {
    const { requests, result } = await record(
      () => ({ status: 204 }),
      (c) =>
        c.deleteMultiple(
          sensorData,
          ids.map((id) => ({ contoso_sensordataid: id, partitionid: 'Device-ABC-1234' })),
        ),
    )
    const [r] = requests as [Recorded]
    expect(requests).toHaveLength(1)
    expect([r.method, r.target]).toEqual([
      'POST',
      `${API}/contoso_sensordatas/Microsoft.Dynamics.CRM.DeleteMultiple`,
    ])
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(r.body)).toEqual({
      Targets: ids.map((id) => ({
        '@odata.type': 'Microsoft.Dynamics.CRM.contoso_sensordata',
        contoso_sensordataid: id,
        partitionid: 'Device-ABC-1234',
      })),
    })
    expect(result).toBe(3)
  })

  it('sends 100 targets per request unless told otherwise (the request size Learn suggests for elastic tables)', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => ({
      contoso_sensordataid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    }))
    const { requests } = await record(
      () => ({ status: 204 }),
      (c) => c.deleteMultiple(sensorData, rows),
    )
    const sizes = requests.map((r) => (JSON.parse(r.body) as { Targets: unknown[] }).Targets.length)
    expect(sizes.sort((a, b) => b - a)).toEqual([100, 100, 50])
  })
})

describe('Use elastic tables using code', () => {
  const TOKEN = '240:8#144035050#7=-1'
  const ID = '7eb682f1-ca75-e511-80d4-00155d2a68d1'

  it('a create answers x-ms-session-token: sessionToken() and onSessionToken get it', async () => {
    const seen: unknown[] = []
    const { result } = await record(
      () => ({
        status: 204,
        headers: {
          'x-ms-session-token': TOKEN,
          'OData-EntityId': `http://localhost/api/data/v9.2/contoso_sensordatas(${ID})`,
        },
      }),
      async (c, origin) => {
        const client = createDataverseClient({
          url: origin,
          getToken: () => 'tok',
          retry: false,
          onSessionToken: (token, request) => seen.push({ token, request }),
        })
        const id = await client.create('contoso_sensordatas', {
          contoso_deviceid: 'deviceid-001',
          partitionid: 'deviceid-001',
        })
        return { id, latest: client.sessionToken(), untouched: c.sessionToken() }
      },
    )
    expect(result).toEqual({ id: ID, latest: TOKEN, untouched: undefined })
    expect(seen).toEqual([{ token: TOKEN, request: { method: 'POST', path: 'contoso_sensordatas' } }])
  })

  it('GET …?partitionId=…&$select=… with MSCRM.SessionToken (Use optional parameters, partition example)', async () => {
    const token = '207:8#142792105#7=-1'
    const { requests } = await record(
      () => json({ contoso_value: 40 }),
      (c) =>
        c.retrieve('contoso_sensordatas', 'da9c32cc-2df8-ed11-8849-000d3a993550', {
          select: ['contoso_value'],
          partitionId: 'Device-ABC-1234',
          sessionToken: token,
        }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('GET')
    expect(r.target.split('?')[0]).toBe(`${API}/contoso_sensordatas(da9c32cc-2df8-ed11-8849-000d3a993550)`)
    expect(option(r, 'partitionId')).toBe('Device-ABC-1234')
    expect(option(r, '$select')).toBe('contoso_value')
    expect(r.headers['mscrm.sessiontoken']).toBe(token)
  })

  it('refuses a session token with a line break before sending anything', async () => {
    const { requests, result } = await record(
      () => json({}),
      (c) =>
        c
          .retrieve('contoso_sensordatas', ID, { sessionToken: 'a\r\nb' })
          .catch((e: DataverseError) => e.code),
    )
    expect(requests).toHaveLength(0)
    expect(result).toBe('INVALID_ARGUMENT')
  })
})
