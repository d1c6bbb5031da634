import { describe, expect, it } from 'vitest'
import { odata } from '../../src/index.ts'
import { record } from './record.ts'
import type { Recorded, Reply } from './recording-server.ts'

// Queries from Learn pages the first conformance files did not cover (Use FetchXml to retrieve data, Use FetchXML
// with Web API, Aggregate data using FetchXml / OData, Join tables using OData), each sent through the real client to
// a plain recording server. Requests are compared decoded: the docs write URLs unencoded, the client percent-encodes
// every query value (harmless: Dataverse decodes them). Regression cases for defects this audit found are marked
// "regression".

const API = '/api/data/v9.2'
const ID = '00000000-0000-0000-0000-000000000001'
const json = (body: object): Reply => ({ status: 200, body })
const empty = () => json({ value: [] })
/** The request target as the docs write it: not percent-encoded. */
const plain = (r: Recorded | undefined) => decodeURIComponent(r?.target ?? '')
/** One query option's value, decoded. */
const option = (r: Recorded | undefined, name: string) =>
  new URLSearchParams((r?.target ?? '').split('?')[1] ?? '').get(name)

describe('Use FetchXml to retrieve data', () => {
  it("GET accounts?fetchXml=<fetch top='5'>…: fetchXml() sends it as written (regression: the iterator refused a query with top)", async () => {
    const xml = `<fetch top='5'>\r\n<entity name='account'>\r\n<attribute name='name'/>\r\n</entity>\r\n</fetch>`
    const { requests, result } = await record(
      () => json({ value: [{ name: 'Litware, Inc. (sample)', accountid: ID }] }),
      async (c) => {
        const rows: unknown[] = []
        for await (const row of c.fetchXml('accounts', xml)) rows.push(row)
        return rows
      },
    )
    const [r] = requests as [Recorded]
    expect(requests).toHaveLength(1)
    expect(r.method).toBe('GET')
    expect(r.target.split('?')[0]).toBe(`${API}/accounts`)
    expect(option(r, 'fetchXml')).toBe(xml)
    expect(r.headers.accept).toBe('application/json')
    expect(result).toEqual([{ name: 'Litware, Inc. (sample)', accountid: ID }])
  })

  it('a query longer than a GET URL may be goes inside a $batch, as a GET part (Use FetchXML within a batch request)', async () => {
    const values = Array.from({ length: 1500 }, (_, i) => `<value>${ID}-${i}</value>`)
    const xml = `<fetch><entity name='account'><attribute name='name'/><filter><condition attribute='accountnumber' operator='in'>${values.join('')}</condition></filter></entity></fetch>`
    const { requests } = await record(
      () => ({ status: 500 }),
      (c) => c.fetchXmlPage('accounts', xml).catch((e: unknown) => e),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/$batch`])
    expect(r.headers['content-type']).toMatch(/^multipart\/mixed;\s*boundary=batch_/)
    expect(r.body).toContain('GET ')
    expect(r.body).toContain('accounts?fetchXml=')
  })
})

describe('Use FetchXML with Web API', () => {
  it("the first request carries the query as written: no page or count the docs' query has not (regression)", async () => {
    const xml = `<fetch mapping='logical'><entity name='account'><attribute name='accountid'/><attribute name='name'/><attribute name='accountnumber'/></entity></fetch>`
    const { requests } = await record(empty, (c) => c.fetchXmlPage('accounts', xml))
    // The docs' own URL-encoded form of this query, as the request line carries it.
    expect(requests[0]?.target).toBe(
      `${API}/accounts?fetchXml=%3Cfetch%20mapping%3D'logical'%3E%3Centity%20name%3D'account'%3E%3Cattribute%20name%3D'accountid'%2F%3E%3Cattribute%20name%3D'name'%2F%3E%3Cattribute%20name%3D'accountnumber'%2F%3E%3C%2Fentity%3E%3C%2Ffetch%3E`,
    )
    expect(requests[0]?.headers.prefer).toBe(
      'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"',
    )
  })

  it('a query without count: the following pages ask for the size Dataverse chose for the first (regression)', async () => {
    const xml = `<fetch><entity name='contact'><attribute name='fullname'/></entity></fetch>`
    const cookie = `<cookie pagenumber="2" pagingcookie="${encodeURIComponent(encodeURIComponent(`<cookie page="1"><contactid last="{${ID}}" /></cookie>`))}" istracking="False" />`
    const { requests, result } = await record(
      (_r, i) =>
        i === 0
          ? json({
              value: [{ n: 1 }, { n: 2 }],
              '@Microsoft.Dynamics.CRM.fetchxmlpagingcookie': cookie,
              '@Microsoft.Dynamics.CRM.morerecords': true,
            })
          : json({ value: [{ n: 3 }] }),
      async (c) => {
        const rows: unknown[] = []
        for await (const row of c.fetchXml('contacts', xml)) rows.push(row)
        return rows
      },
    )
    expect(result).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    expect(option(requests[0], 'fetchXml')).toBe(xml)
    const second = option(requests[1], 'fetchXml') ?? ''
    expect(second).toMatch(/^<fetch page="2" count="2" paging-cookie="&lt;cookie page=&quot;1&quot;&gt;/)
    expect(second).toContain(`<entity name='contact'><attribute name='fullname'/></entity></fetch>`)
  })
})

describe('Aggregate data using FetchXml', () => {
  it('an aggregate query is sent as written, without paging attributes (regression)', async () => {
    const xml = `<fetch aggregate='true'>
  <entity name='account'>
    <attribute name='numberofemployees' alias='Average' aggregate='avg' />
    <attribute name='numberofemployees' alias='Count' aggregate='count' />
    <attribute name='numberofemployees' alias='ColumnCount' aggregate='countcolumn' />
    <attribute name='numberofemployees' alias='Maximum' aggregate='max' />
    <attribute name='numberofemployees' alias='Minimum' aggregate='min' />
    <attribute name='numberofemployees' alias='Sum' aggregate='sum' />
  </entity>
</fetch>`
    const row = { Average: 3911, Count: 10, ColumnCount: 9, Maximum: 6200, Minimum: 1500, Sum: 35200 }
    const { requests, result } = await record(
      () => json({ value: [row] }),
      async (c) => {
        const rows: unknown[] = []
        for await (const r of c.fetchXml('accounts', xml)) rows.push(r)
        return rows
      },
    )
    expect(requests).toHaveLength(1)
    expect(option(requests[0], 'fetchXml')).toBe(xml)
    expect(result).toEqual([row])
  })

  it('grouping with an order by alias, and a per-query aggregatelimit, go out unchanged', async () => {
    const grouped = `<fetch aggregate='true'><entity name='account'><attribute name='numberofemployees' alias='Total' aggregate='sum' /><attribute name='address1_city' alias='Count' aggregate='count' /><attribute name='address1_city' alias='City' groupby='true' /><order alias='City' /></entity></fetch>`
    const limited = `<fetch aggregate='true' aggregatelimit = '10'><entity name='opportunity'><attribute name='name' alias='opportunity_count' aggregate='count' /></entity></fetch>`
    const { requests } = await record(empty, async (c) => {
      await c.fetchXmlPage('accounts', grouped)
      await c.fetchXmlPage('opportunities', limited)
    })
    expect(option(requests[0], 'fetchXml')).toBe(grouped)
    expect(plain(requests[1]).split('?')[0]).toBe(`${API}/opportunities`)
    expect(option(requests[1], 'fetchXml')).toBe(limited)
  })
})

describe('Aggregate data using OData', () => {
  const formatted = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'
  const cases: [string, string][] = [
    ['list of unique statuses', 'groupby((statuscode))'],
    ['count by status values', 'groupby((statuscode),aggregate($count as count))'],
    ['aggregate sum of revenue', 'aggregate(revenue with sum as total)'],
    ['sum of revenue based on status', 'groupby((statuscode),aggregate(revenue with sum as total))'],
    [
      'total account revenue by primary contact name',
      'groupby((primarycontactid/fullname),aggregate(revenue with sum as total))',
    ],
    ['last created record date and time', 'aggregate(createdon with max as lastCreate)'],
    ['first created record date and time', 'aggregate(createdon with min as firstCreate)'],
    ['distinct column values', 'groupby((statecode,statuscode,accountcategorycode))'],
  ]
  for (const [name, apply] of cases) {
    it(`${name}: GET accounts?$apply=${apply} with formatted values`, async () => {
      const { requests } = await record(empty, (c) => c.query('accounts', { apply, formattedValues: true }))
      expect(plain(requests[0])).toBe(`${API}/accounts?$apply=${apply}`)
      expect(requests[0]?.headers.prefer).toBe(formatted)
    })
  }

  it("primary contact names for accounts in 'WA': filter(…)/groupby(…) in one $apply", async () => {
    const apply = "filter(address1_stateorprovince eq 'WA')/groupby((primarycontactid/fullname))"
    const { requests } = await record(empty, (c) => c.query('accounts', { apply }))
    expect(plain(requests[0])).toBe(`${API}/accounts?$apply=${apply}`)
    expect(option(requests[0], '$apply')).toBe(apply)
    expect(requests[0]?.headers.prefer).toBeUndefined()
  })
})

describe('Join tables using OData', () => {
  it('limit columns with $select: $expand=primarycontactid($select=fullname),Account_Tasks($select=subject), one row a page', async () => {
    const { requests } = await record(empty, (c) =>
      c.query('accounts', {
        select: ['name'],
        expand: [
          { property: 'primarycontactid', select: ['fullname'] },
          { property: 'Account_Tasks', select: ['subject'] },
        ],
        maxPageSize: 1,
      }),
    )
    const [r] = requests as [Recorded]
    expect(plain(r)).toBe(
      `${API}/accounts?$select=name&$expand=primarycontactid($select=fullname),Account_Tasks($select=subject)`,
    )
    expect(r.headers.prefer).toBe('odata.maxpagesize=1')
    expect(r.headers['if-none-match']).toBe('null')
  })

  it("options of an expanded collection: Account_Tasks($select=subject;$filter=contains(subject,'Task');$orderby=createdon desc)", async () => {
    const { requests } = await record(empty, (c) =>
      c.query('accounts', {
        select: ['name'],
        expand: [
          {
            property: 'Account_Tasks',
            select: ['subject'],
            filter: odata`contains(subject,${'Task'})`,
            orderBy: 'createdon desc',
          },
        ],
      }),
    )
    expect(plain(requests[0])).toBe(
      `${API}/accounts?$select=name&$expand=Account_Tasks($select=subject;$filter=contains(subject,'Task');$orderby=createdon desc)`,
    )
  })

  it('expand single-valued navigation properties: primarycontactid(…),createdby(…), two rows a page', async () => {
    const { requests } = await record(empty, (c) =>
      c.query('accounts', {
        select: ['name'],
        expand: [
          { property: 'primarycontactid', select: ['contactid', 'fullname'] },
          { property: 'createdby', select: ['fullname'] },
        ],
        maxPageSize: 2,
      }),
    )
    expect(plain(requests[0])).toBe(
      `${API}/accounts?$select=name&$expand=primarycontactid($select=contactid,fullname),createdby($select=fullname)`,
    )
    expect(requests[0]?.headers.prefer).toBe('odata.maxpagesize=2')
  })

  it('return references: $expand=primarycontactid/$ref, written as a string', async () => {
    const { requests } = await record(empty, (c) =>
      c.query('accounts', { select: ['name'], expand: 'primarycontactid/$ref' }),
    )
    expect(plain(requests[0])).toBe(`${API}/accounts?$select=name&$expand=primarycontactid/$ref`)
  })

  it('nested expand of single-valued navigation properties, three levels deep', async () => {
    const { requests } = await record(empty, (c) =>
      c.query('tasks', {
        select: ['subject'],
        expand: [
          {
            property: 'regardingobjectid_contact_task',
            select: ['fullname'],
            expand: [
              {
                property: 'parentcustomerid_account',
                select: ['name'],
                expand: [{ property: 'createdby', select: ['fullname'] }],
              },
            ],
          },
        ],
        maxPageSize: 2,
      }),
    )
    expect(plain(requests[0])).toBe(
      `${API}/tasks?$select=subject&$expand=regardingobjectid_contact_task($select=fullname;$expand=parentcustomerid_account($select=name;$expand=createdby($select=fullname)))`,
    )
  })

  it('nested $expand on a collection, then the expanded collection’s own nextLink followed verbatim', async () => {
    const taskLink = `http://placeholder${API}/accounts(${ID})/Account_Tasks?$select=subject,description&$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%2520countOfRecords%253d%25221%2522%253e%22%20istracking=%22False%22%20/%3E`
    let origin = ''
    const { requests } = await record(
      (r, i) => {
        origin = `http://${r.headers.host}`
        return i === 0
          ? json({
              value: [
                {
                  accountid: ID,
                  Account_Tasks: [{ subject: 'Task 1 for Litware' }],
                  'Account_Tasks@odata.nextLink': taskLink.replace('http://placeholder', origin),
                },
              ],
            })
          : json({ value: [{ subject: 'Task 2 for Litware' }] })
      },
      async (c) => {
        const page = await c.query<Record<string, unknown>>('accounts', {
          select: ['name', 'accountid'],
          expand: [
            { property: 'Account_Tasks', select: ['subject'] },
            {
              property: 'contact_customer_accounts',
              select: ['fullname'],
              expand: [{ property: 'owninguser', select: ['fullname'] }],
            },
          ],
          maxPageSize: 1,
        })
        const next = page.value[0]?.['Account_Tasks@odata.nextLink'] as string
        return c.queryNext(next, { maxPageSize: 1 })
      },
    )
    expect(plain(requests[0])).toBe(
      `${API}/accounts?$select=name,accountid&$expand=Account_Tasks($select=subject),contact_customer_accounts($select=fullname;$expand=owninguser($select=fullname))`,
    )
    expect(requests[1]?.target).toBe(taskLink.replace('http://placeholder', ''))
    expect(requests[1]?.headers.prefer).toBe('odata.maxpagesize=1')
  })
})
