import { describe, expect, it } from 'vitest'
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
