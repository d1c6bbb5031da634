import { describe, expect, it } from 'vitest'
import { createDataverseClient, odata } from '../../src/index.ts'
import { guarded } from '../runaway.ts'
import { record, serve } from './record.ts'
import type { Recorded, Reply } from './recording-server.ts'

// Each case sends one operation through the real client (Node transport) to a plain recording server and compares
// the request with the form Microsoft documents on the Learn page it names (Power Apps > Dataverse > Web API).
// Regression cases for defects found by an independent documented-request check are marked "regression".

const API = '/api/data/v9.2'
const ID = '00000000-0000-0000-0000-000000000001'
const noContent: Reply = { status: 204 }
const json = (body: object, headers: Record<string, string> = {}): Reply => ({ status: 200, body, headers })

/**
 * The headers every request carries (Compose HTTP requests and handle errors: "All HTTP requests should include at
 * least" Accept, OData-MaxVersion, OData-Version and If-None-Match: null), a write as much as a read.
 */
function expectStandardHeaders(r: Recorded, ifNoneMatch = 'null') {
  expect(r.headers.accept).toBe('application/json')
  expect(r.headers['odata-maxversion']).toBe('4.0')
  expect(r.headers['odata-version']).toBe('4.0')
  expect(r.headers['if-none-match']).toBe(ifNoneMatch)
  expect(r.headers.authorization).toBe('Bearer tok')
}

describe('Compose HTTP requests and handle errors', () => {
  it('a read carries If-None-Match: null and the standard headers (regression)', async () => {
    const { requests } = await record(
      () => json({ BusinessUnitId: ID, UserId: ID, OrganizationId: ID }),
      (c) => c.whoAmI(),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('GET')
    expect(r.target).toBe(`${API}/WhoAmI`)
    expectStandardHeaders(r)
    expect(r.headers['if-none-match']).toBe('null')
  })
})

describe('Create a table row using the Web API', () => {
  it('POSTs the JSON body to the entity set and reads the id from OData-EntityId', async () => {
    const { requests, result, origin } = await record(
      (_r) => ({ status: 204, headers: { 'OData-EntityId': `http://x${API}/accounts(${ID})` } }),
      (c) => c.create('accounts', { name: 'Sample Account', creditonhold: false, revenue: 5000000 }),
    )
    void origin
    const [r] = requests as [Recorded]
    expect(r.method).toBe('POST')
    expect(r.target).toBe(`${API}/accounts`)
    expectStandardHeaders(r)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    expect(JSON.parse(r.body)).toEqual({ name: 'Sample Account', creditonhold: false, revenue: 5000000 })
    expect(result).toBe(ID)
  })
})

describe('Retrieve a table row using the Web API', () => {
  it('GETs the row by id with $select', async () => {
    const { requests } = await record(
      () => json({ name: 'x' }),
      (c) => c.retrieve('accounts', ID, { select: ['name', 'revenue'] }),
    )
    expect(requests[0]?.target).toBe(`${API}/accounts(${ID})?$select=name%2Crevenue`)
    expect(decodeURIComponent(requests[0]?.target ?? '')).toBe(`${API}/accounts(${ID})?$select=name,revenue`)
  })
})

describe('Update and delete table rows using the Web API', () => {
  it('PATCHes with If-Match: * so a missing row is not created', async () => {
    const { requests } = await record(
      () => noContent,
      (c) => c.update('accounts', ID, { name: 'Updated' }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('PATCH')
    expect(r.target).toBe(`${API}/accounts(${ID})`)
    expectStandardHeaders(r)
    expect(r.headers['if-match']).toBe('*')
    expect(JSON.parse(r.body)).toEqual({ name: 'Updated' })
  })

  it('DELETEs the row', async () => {
    const { requests } = await record(
      () => noContent,
      (c) => c.delete('accounts', ID),
    )
    expect(requests.map((r) => [r.method, r.target])).toEqual([['DELETE', `${API}/accounts(${ID})`]])
    expectStandardHeaders(requests[0] as Recorded)
  })
})

describe('Use an alternate key to reference a record', () => {
  it('puts the key in the URL as name=value with the string quoted', async () => {
    const { requests } = await record(
      () => json({ name: 'x' }),
      (c) => c.retrieve('accounts', { accountnumber: 'ABC123' }),
    )
    expect(decodeURIComponent(requests[0]?.target ?? '')).toBe(`${API}/accounts(accountnumber='ABC123')`)
  })

  it.each([
    ['Zürich Straße', '%27Z%C3%BCrich%20Stra%C3%9Fe%27'],
    ['Gdańsk', '%27Gda%C5%84sk%27'],
    ['東京', '%27%E6%9D%B1%E4%BA%AC%27'],
  ])(
    'percent-encodes the non-ASCII key %j as UTF-8 on the request line (regression)',
    async (city, _encoded) => {
      const { requests } = await record(
        () => json({ name: 'x' }),
        (c) => c.retrieve('contacts', { address1_city: city }),
      )
      const target = requests[0]?.target ?? ''
      expect(target).toMatch(/^[\x21-\x7e]+$/)
      expect(decodeURIComponent(target)).toBe(`${API}/contacts(address1_city='${city}')`)
    },
  )

  it('refuses a key that is not valid Unicode before sending, and never retries it (regression)', async () => {
    let sent = 0
    const server = await serve(() => {
      sent++
      return json({})
    })
    const client = guarded(createDataverseClient({ url: server.origin, getToken: () => 'tok' }))
    await expect(client.retrieve('contacts', { address1_city: 'bad \uD800 value' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    expect(sent).toBe(0)
  })
})

describe('Filter rows using OData', () => {
  it('writes string arrays of query functions in double quotes, single quotes as they are (regression)', async () => {
    const { requests } = await record(
      () => json({ value: [] }),
      (c) =>
        c.query('contacts', {
          select: ['fullname'],
          filter: odata`Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=${["O'Brian", 'OBryan']})`,
        }),
    )
    const query = new URLSearchParams(new URL(`http://x${requests[0]?.target}`).search)
    expect(query.get('$filter')).toBe(
      `Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=["O'Brian","OBryan"])`,
    )
  })

  // Web API Query Function Reference, OlderThanXMinutes: "?$filter=Microsoft.Dynamics.CRM.OlderThanXMinutes(
  // PropertyName=@p1,PropertyValue=@p2)&@p1='name'&@p2=42"; Use Web API functions: pass parameters as aliases.
  it('sends parameter aliases as @name query parameters holding OData literals (Use Web API functions)', async () => {
    const { requests } = await record(
      () => json({ value: [] }),
      (c) =>
        c.query('accounts', {
          filter: 'Microsoft.Dynamics.CRM.OlderThanXMinutes(PropertyName=@p1,PropertyValue=@p2)',
          aliases: { p1: 'name', '@p2': 42 },
        }),
    )
    expect(decodeURIComponent(requests[0]?.target ?? '')).toBe(
      `${API}/accounts?$filter=Microsoft.Dynamics.CRM.OlderThanXMinutes(PropertyName=@p1,PropertyValue=@p2)&@p1='name'&@p2=42`,
    )
    // the values are escaped as literals: a quote is doubled, an array is the documented JSON form
    const escaped = await record(
      () => json({ value: [] }),
      (c) =>
        c.query('contacts', {
          filter: 'Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)',
          aliases: { p1: 'lastname', p2: ["O'Brian", 'a&b=c'] },
        }),
    )
    const query = new URLSearchParams(new URL(`http://x${escaped.requests[0]?.target}`).search)
    expect(query.get('@p1')).toBe("'lastname'")
    expect(query.get('@p2')).toBe('["O\'Brian","a&b=c"]')
  })

  it('refuses an alias name that is not an identifier, before sending', async () => {
    const { requests } = await record(
      () => json({ value: [] }),
      async (c) =>
        expect(
          c.query('accounts', { filter: 'name eq @x', aliases: { 'x&$top=1': 'a' } }),
        ).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining('not a valid name'),
        }),
    )
    expect(requests).toEqual([])
  })

  it('doubles a single quote inside a string literal (Manage single quotes)', async () => {
    const { requests } = await record(
      () => json({ value: [] }),
      (c) => c.query('contacts', { filter: odata`lastname eq ${"O'Bryan"}` }),
    )
    const query = new URLSearchParams(new URL(`http://x${requests[0]?.target}`).search)
    expect(query.get('$filter')).toBe("lastname eq 'O''Bryan'")
  })
})

describe('Page results using OData', () => {
  it('asks for the page size with Prefer: odata.maxpagesize and follows @odata.nextLink verbatim (regression)', async () => {
    const nextTarget = `${API}/contacts?$select=fullname&$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%22%20istracking=%22False%22%20/%3E&$filter=lastname%20eq%20'O''Bryan'`
    const { requests, result } = await record(
      (_r, i) =>
        i === 0
          ? json({ value: [{ n: 1 }, { n: 2 }], '@odata.nextLink': `NEXT` })
          : json({ value: [{ n: 3 }] }),
      async (c, origin) => {
        // the server's link, absolute, as Dataverse returns it
        const rows: unknown[] = []
        const first = await c.query('contacts', { select: ['fullname'], maxPageSize: 2 })
        rows.push(...first.value)
        const next = await c.queryNext(`${origin}${nextTarget}`, { maxPageSize: 2 })
        rows.push(...next.value)
        return rows
      },
    )
    expect(result).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    expect(requests.map((r) => r.headers.prefer)).toEqual(['odata.maxpagesize=2', 'odata.maxpagesize=2'])
    expect(requests[1]?.target).toBe(nextTarget)
  })

  it('refuses $top together with odata.maxpagesize (Dataverse would ignore $top) before sending (regression)', async () => {
    const { requests, result } = await record(
      () => json({ value: [] }),
      (c) => c.query('contacts', { top: 5, maxPageSize: 2 }).catch((e: unknown) => e),
    )
    expect(result).toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(requests).toHaveLength(0)
  })
})

describe('Page results using FetchXml', () => {
  const cookie = (page: number) =>
    `<cookie pagenumber="${page + 1}" pagingcookie="${encodeURIComponent(encodeURIComponent(`<cookie page="${page}"><contactid last="{${ID}}" first="{${ID}}" /></cookie>`))}" istracking="False" />`

  it('keeps asking for the paging cookie and morerecords when formatted values are requested (regression: 3 of 7 rows)', async () => {
    const pages = [[1, 2, 3], [4, 5, 6], [7]]
    const { requests, result } = await record(
      (r, i) => {
        const prefer = r.headers.prefer ?? ''
        const paging = prefer.includes('Microsoft.Dynamics.CRM.fetchxmlpagingcookie')
        return json({
          value: (pages[i] ?? []).map((n) => ({ n })),
          ...(paging && i < 2
            ? {
                '@Microsoft.Dynamics.CRM.fetchxmlpagingcookie': cookie(i + 1),
                '@Microsoft.Dynamics.CRM.morerecords': true,
              }
            : {}),
        })
      },
      async (c) => {
        const rows: unknown[] = []
        for await (const row of c.fetchXml(
          'contacts',
          `<fetch count='3'><entity name='contact'><attribute name='fullname'/></entity></fetch>`,
          { formattedValues: true },
        ))
          rows.push(row)
        return rows
      },
    )
    expect(result).toHaveLength(7)
    for (const r of requests) {
      const prefer = r.headers.prefer ?? ''
      expect(prefer).toContain('OData.Community.Display.V1.FormattedValue')
      expect(prefer).toContain('Microsoft.Dynamics.CRM.fetchxmlpagingcookie')
      expect(prefer).toContain('Microsoft.Dynamics.CRM.morerecords')
    }
    const second = new URLSearchParams(new URL(`http://x${requests[1]?.target}`).search).get('fetchXml') ?? ''
    expect(second).toMatch(/page="2"/)
    expect(second).toMatch(/count="3"/)
    expect(second).toContain('paging-cookie="&lt;cookie page=&quot;1&quot;&gt;')
  })

  it('sends a query with top as written, unpaged, and refuses paging options with it (regression)', async () => {
    const xml = `<fetch top='5'><entity name='contact'><attribute name='fullname'/></entity></fetch>`
    const { requests, result } = await record(
      () => json({ value: [{ n: 1 }], '@Microsoft.Dynamics.CRM.morerecords': true }),
      async (c) => {
        const page = await c.fetchXmlPage('contacts', xml)
        const refused = await c.fetchXmlPage('contacts', xml, { pageSize: 2 }).catch((e: unknown) => e)
        return { page, refused }
      },
    )
    expect(requests).toHaveLength(1)
    expect(new URLSearchParams(new URL(`http://x${requests[0]?.target}`).search).get('fetchXml')).toBe(xml)
    expect(result).toMatchObject({ page: { moreRecords: false }, refused: { code: 'INVALID_ARGUMENT' } })
  })
})

describe('Count rows', () => {
  it('GETs /$count with the standard Accept header (regression) and reads the number', async () => {
    const { requests, result } = await record(
      () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: '\uFEFF42' }),
      (c) => c.count('accounts'),
    )
    expect(requests[0]?.target).toBe(`${API}/accounts/$count`)
    expect(requests[0]?.headers.accept).toBe('application/json')
    expect(result).toBe(42)
  })
})

describe('Execute batch operations using the Web API', () => {
  it('ends the headers of GET and DELETE parts with an empty line, as the documented parts do (regression)', async () => {
    const { requests } = await record(
      (r) => {
        const boundary = /boundary=(\S+)/.exec(r.headers['content-type'] ?? '')?.[1] ?? 'b'
        void boundary
        const part = (status: string) =>
          [
            '--batchresponse_1',
            'Content-Type: application/http',
            'Content-Transfer-Encoding: binary',
            '',
            status,
            '',
            '',
          ].join('\r\n')
        return {
          status: 200,
          headers: { 'content-type': 'multipart/mixed; boundary=batchresponse_1' },
          body: `${part('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"value":[]}')}${part('HTTP/1.1 204 No Content')}--batchresponse_1--\r\n`,
        }
      },
      async (c) => {
        const batch = c.batch()
        batch.query('tasks', { select: ['subject'] })
        batch.delete('tasks', ID)
        return batch.execute()
      },
    )
    const r = requests[0] as Recorded
    expect(r.method).toBe('POST')
    expect(r.target).toBe(`${API}/$batch`)
    const boundary = /boundary=(\S+)/.exec(r.headers['content-type'] ?? '')?.[1] as string
    const parts = r.body.split(`--${boundary}`).slice(1, -1)
    expect(parts).toHaveLength(2)
    for (const part of parts) {
      // part headers, empty line, request line and headers, empty line, then the CRLF that belongs to the boundary
      const [head, request] = part.replace(/^\r\n/, '').split('\r\n\r\n')
      expect(head).toBe('Content-Type: application/http\r\nContent-Transfer-Encoding: binary')
      expect(request).toMatch(/^(GET|DELETE) \/api\/data\/v9\.2\/tasks[^\r\n]* HTTP\/1\.1/)
      expect(part.endsWith('\r\n\r\n\r\n')).toBe(true)
    }
    expect(r.body.endsWith(`--${boundary}--\r\n`)).toBe(true)
  })
})

describe('Impersonate another user using the Web API', () => {
  it('sends CallerObjectId with the user’s Entra object id', async () => {
    const { requests } = await record(
      () => json({ BusinessUnitId: ID, UserId: ID, OrganizationId: ID }),
      (c) => c.as({ callerObjectId: ID }).whoAmI(),
    )
    expect(requests[0]?.headers.callerobjectid).toBe(ID)
  })
})

describe('Bypass custom Dataverse logic', () => {
  it('sends MSCRM.BypassBusinessLogicExecution and the step ids as typed options', async () => {
    const { requests } = await record(
      () => ({ status: 204, headers: { 'OData-EntityId': `http://x${API}/accounts(${ID})` } }),
      (c) =>
        c.create(
          'accounts',
          { name: 'x' },
          {
            bypassBusinessLogicExecution: ['CustomSync', 'CustomAsync'],
            bypassBusinessLogicExecutionStepIds: [ID],
          },
        ),
    )
    expect(requests[0]?.headers['mscrm.bypassbusinesslogicexecution']).toBe('CustomSync,CustomAsync')
    expect(requests[0]?.headers['mscrm.bypassbusinesslogicexecutionstepids']).toBe(ID)
  })
})

describe('Associate and disassociate table rows using the Web API', () => {
  it('POSTs an absolute @odata.id to the collection-valued navigation property /$ref', async () => {
    const { requests, origin } = await record(
      () => noContent,
      (c) => c.associate('accounts', ID, 'contact_customer_accounts', { entitySet: 'contacts', key: ID }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('POST')
    expect(r.target).toBe(`${API}/accounts(${ID})/contact_customer_accounts/$ref`)
    expect(JSON.parse(r.body)).toEqual({ '@odata.id': `${origin}${API}/contacts(${ID})` })
  })
})

describe('Create a table row using the Web API: create with data returned', () => {
  it('POSTs to the entity set with $select and Prefer: return=representation, and returns the 201 body', async () => {
    const created = {
      '@odata.etag': 'W/"536530"',
      accountid: ID,
      name: 'Sample Account',
      creditonhold: false,
    }
    const { requests, result } = await record(
      () => ({ status: 201, body: created, headers: { 'Preference-Applied': 'return=representation' } }),
      (c) =>
        c.create(
          'accounts',
          { name: 'Sample Account', creditonhold: false },
          { returnRepresentation: true, select: ['name', 'creditonhold', 'createdon'] },
        ),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('POST')
    expect(decodeURIComponent(r.target)).toBe(`${API}/accounts?$select=name,creditonhold,createdon`)
    expectStandardHeaders(r)
    expect(r.headers.prefer).toBe('return=representation')
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    expect(result).toEqual(created)
  })

  it('a Prefer of the caller adds to return=representation instead of replacing it (one header, both asked)', async () => {
    const created = { '@odata.etag': 'W/"536530"', accountid: ID, name: 'Sample Account' }
    const { requests, result } = await record(
      () => ({ status: 201, body: created }),
      (c) =>
        c.create(
          'accounts',
          { name: 'Sample Account' },
          {
            returnRepresentation: true,
            select: ['name'],
            headers: { Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' },
          },
        ),
    )
    const [r] = requests as [Recorded]
    expect(r.headers.prefer).toBe(
      'return=representation,odata.include-annotations="OData.Community.Display.V1.FormattedValue"',
    )
    expect(result).toEqual(created)
  })
})

describe('Update and delete table rows using the Web API: more forms', () => {
  it('update with data returned: PATCH with $select, If-Match: * and Prefer: return=representation, 200 body', async () => {
    const updated = { '@odata.etag': 'W/"536537"', accountid: ID, name: 'Updated Sample Account' }
    const { requests, result } = await record(
      () => json(updated, { 'Preference-Applied': 'return=representation' }),
      (c) =>
        c.update(
          'accounts',
          ID,
          { name: 'Updated Sample Account' },
          { returnRepresentation: true, select: ['name', 'createdon'] },
        ),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('PATCH')
    expect(decodeURIComponent(r.target)).toBe(`${API}/accounts(${ID})?$select=name,createdon`)
    expectStandardHeaders(r)
    expect(r.headers['if-match']).toBe('*')
    expect(r.headers.prefer).toBe('return=representation')
    expect(JSON.parse(r.body)).toEqual({ name: 'Updated Sample Account' })
    expect(result).toEqual(updated)
  })

  it('update a single property value: PUT to the property with { "value": … }', async () => {
    const { requests } = await record(
      () => noContent,
      (c) => c.setProperty('accounts', ID, 'name', 'Updated Sample Account Name'),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['PUT', `${API}/accounts(${ID})/name`])
    expectStandardHeaders(r)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    expect(JSON.parse(r.body)).toEqual({ value: 'Updated Sample Account Name' })
  })

  it('delete a single property value: DELETE the property', async () => {
    const { requests } = await record(
      () => noContent,
      (c) => c.clearProperty('accounts', ID, 'description'),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target, r.body]).toEqual(['DELETE', `${API}/accounts(${ID})/description`, ''])
    expectStandardHeaders(r)
  })
})

describe('Perform conditional operations using the Web API', () => {
  it('upsert: PATCH without If-Match or If-None-Match: *, the id read from OData-EntityId', async () => {
    const { requests, result } = await record(
      () => ({ status: 204, headers: { 'OData-EntityId': `http://x${API}/accounts(${ID})` } }),
      (c) => c.upsert('accounts', ID, { name: 'Upserted' }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['PATCH', `${API}/accounts(${ID})`])
    expectStandardHeaders(r)
    expect(r.headers['if-match']).toBeUndefined()
    expect(result).toBe(ID)
  })

  it('prevent update in upsert: If-None-Match: *; prevent create in upsert: If-Match: *', async () => {
    const { requests } = await record(
      () => ({ status: 204, headers: { 'OData-EntityId': `http://x${API}/accounts(${ID})` } }),
      async (c) => {
        await c.upsert('accounts', ID, { name: 'A' }, { mode: 'createOnly' })
        await c.upsert('accounts', ID, { name: 'B' }, { mode: 'updateOnly' })
      },
    )
    const [createOnly, updateOnly] = requests as [Recorded, Recorded]
    expectStandardHeaders(createOnly, '*')
    expect(createOnly.headers['if-match']).toBeUndefined()
    expectStandardHeaders(updateOnly)
    expect(updateOnly.headers['if-match']).toBe('*')
  })

  it('conditional retrieval: If-None-Match with the etag; 304 Not Modified means unchanged', async () => {
    const { requests, result } = await record(
      () => ({ status: 304 }),
      (c) => c.retrieveIfChanged('accounts', ID, 'W/"468026"', { select: ['name', 'revenue'] }),
    )
    const [r] = requests as [Recorded]
    expect(decodeURIComponent(r.target)).toBe(`${API}/accounts(${ID})?$select=name,revenue`)
    expectStandardHeaders(r, 'W/"468026"')
    expect(result).toBeUndefined()
  })

  it('optimistic concurrency: If-Match with the etag; a 412 is PRECONDITION_FAILED with Dataverse’s message', async () => {
    const message = "The version of the existing record doesn't match the RowVersion property provided."
    const { requests, result } = await record(
      () => ({ status: 412, body: { error: { code: '0x80060882', message } } }),
      (c) =>
        c.update('accounts', ID, { name: 'x' }, { ifMatch: 'W/"470867"' }).then(
          () => 'updated',
          (e: unknown) => e,
        ),
    )
    expect(requests[0]?.headers['if-match']).toBe('W/"470867"')
    expect(result).toMatchObject({
      code: 'PRECONDITION_FAILED',
      status: 412,
      message: expect.stringContaining(message),
    })
  })
})

describe('Use Web API functions', () => {
  it('passes parameters as aliases: Name(P=@p1,Q=@p2)?@p1=…&@p2=…', async () => {
    const { requests, result } = await record(
      () => json({ TimeZoneCode: 4 }),
      (c) =>
        c.callFunction('GetTimeZoneCodeByLocalizedName', {
          LocalizedStandardName: 'Pacific Standard Time',
          LocaleId: 1033,
        }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('GET')
    expect(decodeURIComponent(r.target)).toBe(
      `${API}/GetTimeZoneCodeByLocalizedName(LocalizedStandardName=@p1,LocaleId=@p2)?@p1='Pacific Standard Time'&@p2=1033`,
    )
    expectStandardHeaders(r)
    expect(result).toEqual({ TimeZoneCode: 4 })
  })

  it('calls a bound function by its full name on the record: systemusers(id)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges', async () => {
    const { requests } = await record(
      () => json({ RolePrivileges: [] }),
      (c) =>
        c.callFunction('RetrieveUserPrivileges', undefined, {
          boundTo: { entitySet: 'systemusers', key: ID },
        }),
    )
    expect(requests[0]?.target).toBe(
      `${API}/systemusers(${ID})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`,
    )
  })

  it('passes a record reference as an @odata.id object in the alias', async () => {
    const { requests } = await record(
      () => json({ AccessRights: 'ReadAccess' }),
      (c) =>
        c.callFunction(
          'RetrievePrincipalAccess',
          { Target: { '@odata.id': `contacts(${ID})` } },
          { boundTo: { entitySet: 'systemusers', key: ID } },
        ),
    )
    const target = decodeURIComponent(requests[0]?.target ?? '')
    expect(target.split('?')[0]).toBe(
      `${API}/systemusers(${ID})/Microsoft.Dynamics.CRM.RetrievePrincipalAccess(Target=@p1)`,
    )
    const alias = new URLSearchParams((requests[0]?.target ?? '').split('?')[1]).get('@p1') ?? ''
    expect(JSON.parse(alias)).toEqual({ '@odata.id': `contacts(${ID})` })
  })
})

describe('Associate and disassociate table rows using the Web API: removing references', () => {
  it('DELETEs a collection-valued reference by the related row’s key, and a single-valued one by the property', async () => {
    const { requests } = await record(
      () => noContent,
      async (c) => {
        await c.disassociate('accounts', ID, 'contact_customer_accounts', { entitySet: 'contacts', key: ID })
        await c.disassociate('accounts', ID, 'parentaccountid')
      },
    )
    expect(requests.map((r) => [r.method, r.target])).toEqual([
      ['DELETE', `${API}/accounts(${ID})/contact_customer_accounts(${ID})/$ref`],
      ['DELETE', `${API}/accounts(${ID})/parentaccountid/$ref`],
    ])
    for (const r of requests) expectStandardHeaders(r)
  })
})

// client.definitions: the schema reads and the cache behind them.
const STAMP = (s: string) => ({ ServerVersionStamp: s, EntityMetadata: [], DeletedMetadata: { Count: 0 } })
const isStamp = (r: Recorded) => r.target.startsWith(`${API}/RetrieveMetadataChanges(Query=@p1)?@p1=`)
const accountDefinition = {
  MetadataId: '70816501-edb9-4740-a16c-6a5efbc05d84',
  LogicalName: 'account',
  SchemaName: 'Account',
  EntitySetName: 'accounts',
  PrimaryIdAttribute: 'accountid',
  PrimaryNameAttribute: 'name',
  ObjectTypeCode: 1,
  IsCustomEntity: false,
  DisplayName: {
    LocalizedLabels: [{ Label: 'Account', LanguageCode: 1033 }],
    UserLocalizedLabel: { Label: 'Account', LanguageCode: 1033 },
  },
}

describe('Retrieve table definitions by name or MetadataId', () => {
  it("GETs EntityDefinitions(LogicalName='account') with $select, after one version-stamp check", async () => {
    const { requests, result } = await record(
      (r) => (isStamp(r) ? json(STAMP('1!a')) : json(accountDefinition)),
      (c) => c.definitions.table('account'),
    )
    const [stamp, table] = requests as [Recorded, Recorded]
    expect(stamp.method).toBe('GET')
    // Cache schema data: RetrieveMetadataChanges with an EntityQueryExpression, as a parameter alias
    const query = JSON.parse(decodeURIComponent(stamp.target.split('@p1=')[1] as string)) as {
      Properties: { PropertyNames: string[] }
    }
    expect(query.Properties.PropertyNames).toEqual(['LogicalName'])
    expect(decodeURIComponent(table.target)).toBe(
      `${API}/EntityDefinitions(LogicalName='account')?$select=MetadataId,LogicalName,SchemaName,EntitySetName,DisplayName,DisplayCollectionName,PrimaryIdAttribute,PrimaryNameAttribute,ObjectTypeCode,IsCustomEntity`,
    )
    expectStandardHeaders(table)
    expect(result).toMatchObject({
      logicalName: 'account',
      displayName: 'Account',
      entitySetName: 'accounts',
    })
  })

  it('maps the 404 of an unknown table to NOT_FOUND naming the table', async () => {
    const { result } = await record(
      (r) =>
        isStamp(r)
          ? json(STAMP('1!a'))
          : {
              status: 404,
              body: { error: { code: '0x80040217', message: 'not found in the MetadataCache.' } },
            },
      (c) => c.definitions.table('nosuch').catch((e: unknown) => e),
    )
    expect(result).toMatchObject({ code: 'NOT_FOUND', status: 404, serviceCode: '0x80040217' })
    expect((result as Error).message).toContain("'nosuch'")
  })
})

describe('Query table definitions using the Web API', () => {
  it('reads the columns, then the options with a typed cast and $expand=OptionSet,GlobalOptionSet', async () => {
    const attributes = {
      value: [
        {
          MetadataId: ID,
          LogicalName: 'name',
          AttributeType: 'String',
          AttributeTypeName: { Value: 'StringType' },
          MaxLength: 160,
        },
        {
          MetadataId: ID,
          LogicalName: 'industrycode',
          AttributeType: 'Picklist',
          AttributeTypeName: { Value: 'PicklistType' },
        },
      ],
    }
    const picklists = {
      value: [
        {
          LogicalName: 'industrycode',
          OptionSet: {
            Name: 'account_industrycode',
            IsGlobal: false,
            OptionSetType: 'Picklist',
            Options: [
              { Value: 1, Label: { LocalizedLabels: [], UserLocalizedLabel: { Label: 'Accounting' } } },
            ],
          },
          GlobalOptionSet: null,
        },
      ],
    }
    const { requests, result } = await record(
      (r) =>
        isStamp(r) ? json(STAMP('1!a')) : r.target.includes('Picklist') ? json(picklists) : json(attributes),
      (c) => c.definitions.columns('account'),
    )
    const targets = requests.map((r) => decodeURIComponent(r.target))
    expect(targets.slice(1)).toEqual([
      `${API}/EntityDefinitions(LogicalName='account')/Attributes`,
      `${API}/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet,GlobalOptionSet`,
    ])
    expect((result as { choice?: unknown }[])[1]).toMatchObject({
      choice: {
        name: 'account_industrycode',
        kind: 'Picklist',
        options: [{ value: 1, label: 'Accounting' }],
      },
    })
  })

  it("expands the table's relationship collections in one request", async () => {
    const { requests, result } = await record(
      (r) =>
        isStamp(r)
          ? json(STAMP('1!a'))
          : json({
              LogicalName: 'contact',
              ManyToOneRelationships: [
                {
                  SchemaName: 'contact_customer_accounts',
                  RelationshipType: 'OneToManyRelationship',
                  ReferencedEntity: 'account',
                  ReferencingEntity: 'contact',
                  ReferencingAttribute: 'parentcustomerid',
                },
              ],
              OneToManyRelationships: [],
              ManyToManyRelationships: [],
            }),
      (c) => c.definitions.relationships('contact'),
    )
    expect(decodeURIComponent(requests[1]?.target ?? '')).toBe(
      `${API}/EntityDefinitions(LogicalName='contact')?$select=LogicalName&$expand=OneToManyRelationships,ManyToOneRelationships,ManyToManyRelationships`,
    )
    expect(result).toEqual([
      expect.objectContaining({
        kind: 'OneToMany',
        schemaName: 'contact_customer_accounts',
        referencingAttribute: 'parentcustomerid',
      }),
    ])
  })

  // EntityMetadata's Keys navigation (Web API reference: EntityMetadata, EntityKeyMetadata EntityType).
  it("GETs a table's alternate keys through its Keys navigation", async () => {
    const { requests, result } = await record(
      (r) =>
        isStamp(r)
          ? json(STAMP('1!a'))
          : json({
              value: [
                {
                  MetadataId: '00000000-0000-0000-0000-0000000000aa',
                  LogicalName: 'new_accountnumberkey',
                  SchemaName: 'new_AccountNumberKey',
                  KeyAttributes: ['accountnumber'],
                  EntityKeyIndexStatus: 'Pending',
                },
              ],
            }),
      (c) => c.definitions.keys('account'),
    )
    expect(decodeURIComponent(requests[1]?.target ?? '')).toBe(
      `${API}/EntityDefinitions(LogicalName='account')/Keys?$select=LogicalName,SchemaName,KeyAttributes,EntityKeyIndexStatus`,
    )
    expect(result).toEqual([
      {
        metadataId: '00000000-0000-0000-0000-0000000000aa',
        logicalName: 'new_accountnumberkey',
        schemaName: 'new_AccountNumberKey',
        columns: ['accountnumber'],
        status: 'Pending',
      },
    ])
  })

  it("GETs GlobalOptionSetDefinitions(Name='x') for a global choice", async () => {
    const { requests } = await record(
      (r) => (isStamp(r) ? json(STAMP('1!a')) : json({ Name: 'budgetstatus', IsGlobal: true, Options: [] })),
      (c) => c.definitions.globalChoice('budgetstatus'),
    )
    expect(decodeURIComponent(requests[1]?.target ?? '')).toBe(
      `${API}/GlobalOptionSetDefinitions(Name='budgetstatus')`,
    )
  })
})

describe('Cache schema data', () => {
  it('serves repeated reads from memory and reads again once the ServerVersionStamp changes', async () => {
    let stamp = '1!a'
    let time = 0
    const server = await serve((r) => (isStamp(r) ? json(STAMP(stamp)) : json(accountDefinition)))
    const client = guarded(
      createDataverseClient({
        url: server.origin,
        getToken: () => 'tok',
        retry: false,
        clock: { now: () => time },
        definitions: { revalidateAfterMs: 60_000 },
      }),
    )
    await client.definitions.table('account')
    await client.definitions.table('account')
    expect(server.requests).toHaveLength(2) // one stamp check, one read
    time = 59_999
    await client.definitions.table('account')
    expect(server.requests).toHaveLength(2) // the stamp is still trusted
    time = 60_000
    await client.definitions.table('account')
    expect(server.requests.map(isStamp)).toEqual([true, false, true]) // same stamp: the cache holds
    stamp = '2!b' // the schema changed
    time = 120_000
    await client.definitions.table('account')
    expect(server.requests.map(isStamp)).toEqual([true, false, true, true, false])
    client.definitions.clear()
    await client.as({ systemUserId: ID }).definitions.table('account')
    expect(server.requests).toHaveLength(7)
  })
})
