import { describe, expect, it } from 'vitest'
import { bind, guid, odata } from '../../src/index.ts'
import { embedded, emptyBatchResponse, record } from './record.ts'
import type { Recorded, Reply } from './recording-server.ts'

// More documented requests, each from the Microsoft Learn page (Power Apps > Dataverse > Web API) its describe block
// names, sent through the real client to a plain recording server. The ids are the pages' own where they give one.
// Regression cases for defects this check found are marked "regression".

const API = '/api/data/v9.2'
const ID = '00000000-0000-0000-0000-000000000001'
const ID2 = '00000000-0000-0000-0000-000000000002'
const ID3 = '00000000-0000-0000-0000-000000000003'
const noContent: Reply = { status: 204 }
const created = (set: string, id = ID): Reply => ({
  status: 204,
  headers: { 'OData-EntityId': `http://x${API}/${set}(${id})` },
})
const json = (body: object): Reply => ({ status: 200, body })
/** The request target as the docs write it: not percent-encoded. */
const plain = (r: Recorded | undefined) => decodeURIComponent(r?.target ?? '')
/** One query option's value, decoded. */
const option = (r: Recorded | undefined, name: string) =>
  new URLSearchParams((r?.target ?? '').split('?')[1] ?? '').get(name)

function expectStandardHeaders(r: Recorded) {
  expect(r.headers.accept).toBe('application/json')
  expect(r.headers['odata-maxversion']).toBe('4.0')
  expect(r.headers['odata-version']).toBe('4.0')
}

describe('Create a table row using the Web API: deep insert and @odata.bind', () => {
  it('create related table rows in one operation: the nested body is posted as it is', async () => {
    const body = {
      name: 'Sample Account',
      primarycontactid: { firstname: 'John', lastname: 'Smith' },
      opportunity_customer_accounts: [
        {
          name: 'Opportunity associated to Sample Account',
          Opportunity_Tasks: [{ subject: 'Task associated to opportunity' }],
        },
      ],
    }
    const { requests, result } = await record(
      () => created('accounts'),
      (c) => c.create('accounts', body),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/accounts`])
    expectStandardHeaders(r)
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(r.body)).toEqual(body)
    expect(result).toBe(ID)
  })

  it('associate table rows on create: bind() writes /contacts(id) for single- and collection-valued properties', async () => {
    const { requests } = await record(
      () => ({ status: 201, body: { name: 'Sample Account', accountid: ID } }),
      (c) =>
        c.create(
          'accounts',
          {
            name: 'Sample Account',
            'primarycontactid@odata.bind': bind('contacts', ID),
            'Account_Tasks@odata.bind': [bind('tasks', ID2), bind('tasks', ID3)],
          },
          { returnRepresentation: true, select: ['name'] },
        ),
    )
    const [r] = requests as [Recorded]
    expect(plain(r)).toBe(`${API}/accounts?$select=name`)
    expect(r.headers.prefer).toBe('return=representation')
    expect(JSON.parse(r.body)).toEqual({
      name: 'Sample Account',
      'primarycontactid@odata.bind': `/contacts(${ID})`,
      'Account_Tasks@odata.bind': [`/tasks(${ID2})`, `/tasks(${ID3})`],
    })
  })
})

describe('Detect duplicate data using the Web API', () => {
  it('create with MSCRM.SuppressDuplicateDetection: false; the 412 duplicate error keeps its service code', async () => {
    const message =
      'A record was not created or updated because a duplicate of the current record already exists.'
    const { requests, result } = await record(
      () => ({ status: 412, body: { error: { code: '0x80040333', message } } }),
      (c) =>
        c
          .create(
            'leads',
            { firstname: 'Monte', lastname: 'Orton', emailaddress1: 'monte@example.com' },
            { headers: { 'MSCRM.SuppressDuplicateDetection': 'false' } },
          )
          .catch((e: unknown) => e),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/leads`])
    expect(r.headers['mscrm.suppressduplicatedetection']).toBe('false')
    expect(result).toMatchObject({ status: 412, serviceCode: '0x80040333' })
  })

  it('update with duplicate detection: PATCH with If-Match: * and MSCRM.SuppressDuplicateDetection: false', async () => {
    const { requests } = await record(
      () => noContent,
      (c) =>
        c.update(
          'leads',
          ID,
          { firstname: 'Monte' },
          { headers: { 'MSCRM.SuppressDuplicateDetection': 'false' } },
        ),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['PATCH', `${API}/leads(${ID})`])
    expect(r.headers['if-match']).toBe('*')
    expect(r.headers['mscrm.suppressduplicatedetection']).toBe('false')
  })
})

describe('Retrieve a table row using the Web API: alternate keys and expanded navigation properties', () => {
  it("retrieve using an alternate key of two columns: contacts(firstname='Joe',emailaddress1='abc@example.com')", async () => {
    const { requests } = await record(
      () => json({}),
      (c) => c.retrieve('contacts', { firstname: 'Joe', emailaddress1: 'abc@example.com' }),
    )
    expect(plain(requests[0])).toBe(`${API}/contacts(firstname='Joe',emailaddress1='abc@example.com')`)
  })

  it('an alternate key with a lookup column takes a bare GUID: accounts(_primarycontactid_value=<guid>)', async () => {
    const { requests } = await record(
      () => json({}),
      (c) => c.retrieve('accounts', { _primarycontactid_value: guid(ID) }),
    )
    expect(requests[0]?.target).toBe(`${API}/accounts(_primarycontactid_value=${ID})`)
  })

  it('expand a single-valued navigation property with its own $select', async () => {
    const { requests } = await record(
      () => json({}),
      (c) =>
        c.retrieve('accounts', ID, {
          select: ['name'],
          expand: [{ property: 'primarycontactid', select: ['contactid', 'fullname'] }],
        }),
    )
    expect(plain(requests[0])).toBe(
      `${API}/accounts(${ID})?$select=name&$expand=primarycontactid($select=contactid,fullname)`,
    )
  })

  it('expand single- and collection-valued navigation properties together', async () => {
    const { requests } = await record(
      () => json({}),
      (c) =>
        c.retrieve('accounts', ID, {
          select: ['accountid'],
          expand: [
            { property: 'parentaccountid', select: ['createdon', 'name'] },
            { property: 'Account_Tasks', select: ['subject', 'scheduledstart'] },
          ],
        }),
    )
    expect(option(requests[0], '$expand')).toBe(
      'parentaccountid($select=createdon,name),Account_Tasks($select=subject,scheduledstart)',
    )
  })

  it('options on an expanded collection: $select;$filter;$orderby;$top separated by semicolons', async () => {
    const { requests } = await record(
      () => json({}),
      (c) =>
        c.retrieve('accounts', ID, {
          select: ['name'],
          expand: [
            {
              property: 'Account_Tasks',
              select: ['subject'],
              filter: odata`contains(subject,${'Task'})`,
              orderBy: ['createdon desc'],
              top: 2,
            },
          ],
        }),
    )
    expect(option(requests[0], '$expand')).toBe(
      "Account_Tasks($select=subject;$filter=contains(subject,'Task');$orderby=createdon desc;$top=2)",
    )
  })

  it('formatted values: Prefer: odata.include-annotations="OData.Community.Display.V1.FormattedValue"', async () => {
    const { requests } = await record(
      () => json({}),
      (c) => c.retrieve('accounts', ID, { select: ['revenue'], formattedValues: true }),
    )
    expect(requests[0]?.headers.prefer).toBe(
      'odata.include-annotations="OData.Community.Display.V1.FormattedValue"',
    )
  })
})

describe('Query data using the Web API: $top, $orderby, $count, $apply and annotations', () => {
  it('$select, $orderby with desc, $top', async () => {
    const { requests } = await record(
      () => json({ value: [] }),
      (c) => c.query('accounts', { select: ['name', 'revenue'], orderBy: ['revenue desc', 'name'], top: 3 }),
    )
    expect(plain(requests[0])).toBe(`${API}/accounts?$select=name,revenue&$orderby=revenue desc,name&$top=3`)
    expect(requests[0]?.headers.prefer).toBeUndefined()
  })

  it('$count=true with the totalrecordcount annotations asked for by name', async () => {
    const { requests, result } = await record(
      () =>
        json({
          '@odata.count': 5000,
          '@Microsoft.Dynamics.CRM.totalrecordcount': 5000,
          '@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded': true,
          value: [],
        }),
      (c) =>
        c.query('accounts', {
          select: ['accountid'],
          count: true,
          annotations: [
            'Microsoft.Dynamics.CRM.totalrecordcount',
            'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded',
          ],
        }),
    )
    expect(plain(requests[0])).toBe(`${API}/accounts?$select=accountid&$count=true`)
    expect(requests[0]?.headers.prefer).toBe(
      'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"',
    )
    expect(result).toMatchObject({ count: 5000, totalRecordCount: 5000 })
  })

  it('$count=true with $filter and odata.maxpagesize: the count is of every match, not of the page', async () => {
    const { requests } = await record(
      () => json({ '@odata.count': 10, value: [] }),
      (c) =>
        c.query('accounts', {
          select: ['name'],
          filter: odata`contains(name,${'sample'})`,
          count: true,
          maxPageSize: 3,
          annotations: ['Microsoft.Dynamics.CRM.*'],
        }),
    )
    expect(plain(requests[0])).toBe(
      `${API}/accounts?$select=name&$filter=contains(name,'sample')&$count=true`,
    )
    expect(requests[0]?.headers.prefer).toBe(
      'odata.include-annotations="Microsoft.Dynamics.CRM.*",odata.maxpagesize=3',
    )
  })

  it('count() with a filter sends the documented $filter&$count=true and a page size of one, not $top (regression)', async () => {
    const { requests, result } = await record(
      () => json({ '@odata.count': 10, value: [{}] }),
      (c) => c.count('accounts', { filter: odata`contains(name,${'sample'})` }),
    )
    expect(plain(requests[0])).toBe(`${API}/accounts?$filter=contains(name,'sample')&$count=true`)
    expect(option(requests[0], '$top')).toBeNull()
    expect(requests[0]?.headers.prefer).toBe('odata.maxpagesize=1')
    expect(result).toBe(10)
  })

  it('aggregate data: $apply=groupby((…),aggregate(… with average as …))', async () => {
    const apply = 'groupby((statecode),aggregate(revenue with average as averagevalue))'
    const { requests } = await record(
      () => json({ value: [] }),
      (c) => c.query('accounts', { apply }),
    )
    expect(plain(requests[0])).toBe(`${API}/accounts?$apply=${apply}`)
  })

  it('all annotations: Prefer: odata.include-annotations="*"', async () => {
    const { requests } = await record(
      () => json({ value: [] }),
      (c) => c.query('accounts', { select: ['name', '_primarycontactid_value'], annotations: '*' }),
    )
    expect(requests[0]?.headers.prefer).toBe('odata.include-annotations="*"')
  })
})

describe('Associate and disassociate table rows using the Web API: more forms', () => {
  it('change the reference in a single-valued navigation property: PUT …/customerid_account/$ref', async () => {
    const { requests, origin } = await record(
      () => noContent,
      (c) =>
        c.associate(
          'opportunities',
          ID,
          'customerid_account',
          { entitySet: 'accounts', key: ID2 },
          { single: true },
        ),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['PUT', `${API}/opportunities(${ID})/customerid_account/$ref`])
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(r.body)).toEqual({ '@odata.id': `${origin}${API}/accounts(${ID2})` })
  })

  it('many-to-many: POST and DELETE systemusers(id)/systemuserroles_association', async () => {
    const { requests } = await record(
      () => noContent,
      async (c) => {
        await c.associate('systemusers', ID, 'systemuserroles_association', { entitySet: 'roles', key: ID2 })
        await c.disassociate('systemusers', ID, 'systemuserroles_association', {
          entitySet: 'roles',
          key: ID2,
        })
      },
    )
    expect(requests.map((r) => [r.method, r.target])).toEqual([
      ['POST', `${API}/systemusers(${ID})/systemuserroles_association/$ref`],
      ['DELETE', `${API}/systemusers(${ID})/systemuserroles_association(${ID2})/$ref`],
    ])
  })
})

describe('Perform conditional operations using the Web API: more forms', () => {
  it('optimistic concurrency on delete: DELETE with If-Match and the etag', async () => {
    const { requests } = await record(
      () => noContent,
      (c) => c.delete('accounts', ID, { ifMatch: 'W/"470867"' }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['DELETE', `${API}/accounts(${ID})`])
    expect(r.headers['if-match']).toBe('W/"470867"')
  })

  it('conditional retrieval refuses $expand and annotations, which never get 304 Not Modified (regression)', async () => {
    const { requests, result } = await record(
      () => ({ status: 304 }),
      async (c) => {
        const etag = 'W/"468026"'
        const expand = [{ property: 'primarycontactid', select: ['fullname'] }]
        return Promise.all([
          c.retrieveIfChanged('accounts', ID, etag, { select: ['name'], expand }).catch((e: unknown) => e),
          c.retrieveIfChanged('accounts', ID, etag, { formattedValues: true }).catch((e: unknown) => e),
          c.retrieveIfChanged('accounts', ID, etag, { annotations: '*' }).catch((e: unknown) => e),
        ])
      },
    )
    expect(result).toEqual([
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    ])
    expect(requests).toHaveLength(0)
  })

  it("upsert by alternate key: PATCH accounts(accountnumber='0003'), the id read from OData-EntityId", async () => {
    const { requests, result } = await record(
      () => created('accounts', ID2),
      (c) => c.upsert('accounts', { accountnumber: '0003' }, { name: 'Contoso' }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('PATCH')
    expect(plain(r)).toBe(`${API}/accounts(accountnumber='0003')`)
    expect(r.headers['if-match']).toBeUndefined()
    expect(r.headers['if-none-match']).toBe('null')
    expect(result).toBe(ID2)
  })
})

describe('Use Web API actions', () => {
  it('unbound action with an entity parameter: POST WinOpportunity, the entity typed by @odata.type', async () => {
    const body = {
      Status: 3,
      OpportunityClose: {
        subject: 'Won Opportunity',
        'opportunityid@odata.bind': bind('opportunities', ID),
        '@odata.type': 'Microsoft.Dynamics.CRM.opportunityclose',
      },
    }
    const { requests, result } = await record(
      () => noContent,
      (c) => c.callAction('WinOpportunity', body),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/WinOpportunity`])
    expectStandardHeaders(r)
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(r.body)).toEqual(body)
    expect(result).toBeUndefined()
  })

  it('bound action: POST queues(id)/Microsoft.Dynamics.CRM.AddToQueue with the Target entity', async () => {
    const body = { Target: { activityid: ID2, '@odata.type': 'Microsoft.Dynamics.CRM.letter' } }
    const { requests, result } = await record(
      () => json({ QueueItemId: ID3 }),
      (c) => c.callAction('AddToQueue', body, { boundTo: { entitySet: 'queues', key: ID } }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/queues(${ID})/Microsoft.Dynamics.CRM.AddToQueue`])
    expect(JSON.parse(r.body)).toEqual(body)
    expect(result).toEqual({ QueueItemId: ID3 })
  })
})

describe('Use Web API functions: more forms', () => {
  it('unbound function without parameters: GET WhoAmI()', async () => {
    const { requests } = await record(
      () => json({ UserId: ID }),
      (c) => c.callFunction('WhoAmI'),
    )
    expect(requests[0]?.target).toBe(`${API}/WhoAmI()`)
  })

  it("an enum parameter is written as the docs write it: @p3=Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate' (regression)", async () => {
    const { requests } = await record(
      () => json({}),
      (c) =>
        c.callFunction('InitializeFrom', {
          EntityMoniker: { '@odata.id': `accounts(${ID})` },
          TargetEntityName: 'account',
          TargetFieldType: odata`Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'`,
        }),
    )
    const r = requests[0] as Recorded
    expect(plain(r).split('?')[0]).toBe(
      `${API}/InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)`,
    )
    expect(JSON.parse(option(r, '@p1') ?? '')).toEqual({ '@odata.id': `accounts(${ID})` })
    expect(option(r, '@p2')).toBe("'account'")
    expect(option(r, '@p3')).toBe("Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'")
  })

  it('a collection parameter: RetrieveTotalRecordCount(EntityNames=@p1)?@p1=["account","contact"]', async () => {
    const { requests } = await record(
      () => json({}),
      (c) => c.callFunction('RetrieveTotalRecordCount', { EntityNames: ['account', 'contact'] }),
    )
    expect(plain(requests[0])).toBe(
      `${API}/RetrieveTotalRecordCount(EntityNames=@p1)?@p1=["account","contact"]`,
    )
  })
})

describe('Impersonate another user using the Web API: MSCRMCallerID', () => {
  it('sends MSCRMCallerID with the systemuserid, per client and per call', async () => {
    const { requests } = await record(
      () => created('accounts'),
      async (c) => {
        await c.as({ systemUserId: ID2 }).create('accounts', { name: 'x' })
        await c.create('accounts', { name: 'y' }, { impersonate: { systemUserId: ID3 } })
      },
    )
    expect(requests.map((r) => r.headers.mscrmcallerid)).toEqual([ID2, ID3])
    expect(requests.map((r) => r.headers.callerobjectid)).toEqual([undefined, undefined])
  })
})

describe('Bypass custom Dataverse logic: MSCRM.BypassCustomPluginExecution', () => {
  it('sends MSCRM.BypassCustomPluginExecution: true', async () => {
    const { requests } = await record(
      () => created('accounts'),
      (c) => c.create('accounts', { name: 'x' }, { bypassCustomPluginExecution: true }),
    )
    expect(requests[0]?.headers['mscrm.bypasscustompluginexecution']).toBe('true')
  })
})

describe('Execute batch operations using the Web API: change sets and Content-ID references', () => {
  it('reference URIs in the request body: "originatingleadid@odata.bind":"$1"', async () => {
    const { requests } = await record(
      () => emptyBatchResponse,
      (c) => {
        const batch = c.batch()
        batch.changeSet((cs) => {
          const lead = cs.create('leads', { firstname: 'first name', lastname: 'last name' })
          const contact = cs.create('contacts', { firstname: 'first name' })
          cs.create('accounts', {
            name: 'IcM Account',
            'originatingleadid@odata.bind': lead.ref,
            'primarycontactid@odata.bind': contact.ref,
          })
        })
        return batch.execute()
      },
    )
    const r = requests[0] as Recorded
    expect([r.method, r.target]).toEqual(['POST', `${API}/$batch`])
    expect(r.headers['content-type']).toMatch(/^multipart\/mixed; ?boundary="?batch_/)
    const parts = embedded(r)
    expect(parts.map((p) => /Content-ID: (\d+)/.exec(p.part)?.[1])).toEqual(['1', '2', '3'])
    expect(parts.map((p) => p.line)).toEqual([
      `POST ${API}/leads HTTP/1.1`,
      `POST ${API}/contacts HTTP/1.1`,
      `POST ${API}/accounts HTTP/1.1`,
    ])
    for (const p of parts) expect(p.headers).toContain('content-type: application/json; type=entry')
    expect(JSON.parse(parts[2]?.body ?? '')).toEqual({
      name: 'IcM Account',
      'originatingleadid@odata.bind': '$1',
      'primarycontactid@odata.bind': '$2',
    })
  })

  it('reference URIs in URL and navigation properties: PATCH $1 with "primarycontactid@odata.bind":"$2"', async () => {
    const { requests } = await record(
      () => emptyBatchResponse,
      (c) => {
        const batch = c.batch()
        batch.changeSet((cs) => {
          const account = cs.create('accounts', { name: 'Account name' })
          const contact = cs.create('contacts', { firstname: 'Contact first name' })
          cs.update('accounts', account.ref, { 'primarycontactid@odata.bind': contact.ref })
        })
        return batch.execute()
      },
    )
    const third = embedded(requests[0] as Recorded)[2]
    expect(third?.line).toBe('PATCH $1 HTTP/1.1')
    expect(JSON.parse(third?.body ?? '')).toEqual({ 'primarycontactid@odata.bind': '$2' })
  })

  it('a collection-valued reference in a change set: POST $1/nav/$ref with {"@odata.id":"$2"}', async () => {
    const { requests } = await record(
      () => emptyBatchResponse,
      (c) => {
        const batch = c.batch()
        batch.changeSet((cs) => {
          const account = cs.create('accounts', { name: 'Account name' })
          const contact = cs.create('contacts', { firstname: 'Contact first name' })
          cs.associate('accounts', account.ref, 'contact_customer_accounts', {
            entitySet: 'contacts',
            key: contact.ref,
          })
        })
        return batch.execute()
      },
    )
    const third = embedded(requests[0] as Recorded)[2]
    expect(third?.line).toBe('POST $1/contact_customer_accounts/$ref HTTP/1.1')
    expect(JSON.parse(third?.body ?? '')).toEqual({ '@odata.id': '$2' })
  })

  it('reference URIs in URL and request body using @odata.id: PUT $1/primarycontactid/$ref with {"@odata.id":"$2"} (regression)', async () => {
    const { requests } = await record(
      () => emptyBatchResponse,
      (c) => {
        const batch = c.batch()
        batch.changeSet((cs) => {
          const account = cs.create('accounts', { name: 'Account Name' })
          const contact = cs.create('contacts', { firstname: 'Contact first name' })
          cs.associate(
            'accounts',
            account.ref,
            'primarycontactid',
            { entitySet: 'contacts', key: contact.ref },
            { single: true },
          )
        })
        return batch.execute()
      },
    )
    const third = embedded(requests[0] as Recorded)[2]
    expect(third?.part).toMatch(/Content-ID: 3/)
    expect(third?.line).toBe('PUT $1/primarycontactid/$ref HTTP/1.1')
    expect(third?.headers).toContain('content-type: application/json; type=entry')
    expect(JSON.parse(third?.body ?? '')).toEqual({ '@odata.id': '$2' })
  })

  it('handling errors: Prefer: odata.continue-on-error on the $batch request', async () => {
    const { requests } = await record(
      () => emptyBatchResponse,
      (c) => {
        const batch = c.batch({ continueOnError: true })
        batch.create('tasks', {
          subject: 'Task 2 in batch',
          'regardingobjectid_account_task@odata.bind': bind('accounts', ID),
        })
        return batch.execute()
      },
    )
    const r = requests[0] as Recorded
    expect(r.headers.prefer).toBe('odata.continue-on-error')
    expectStandardHeaders(r)
    expect(embedded(r)[0]?.line).toBe(`POST ${API}/tasks HTTP/1.1`)
  })
})

describe('Query table definitions using the Web API: EntityDefinitions with $select', () => {
  it('GETs EntityDefinitions?$select=… for the list of tables', async () => {
    const { requests } = await record(
      (r) =>
        r.target.startsWith(`${API}/RetrieveMetadataChanges`)
          ? json({ ServerVersionStamp: '1!a', EntityMetadata: [], DeletedMetadata: { Count: 0 } })
          : json({ value: [] }),
      (c) => c.definitions.tables(),
    )
    const list = requests[1] as Recorded
    expect(list.method).toBe('GET')
    expect(plain(list)).toMatch(
      new RegExp(`^${API.replaceAll('/', '\\/')}/EntityDefinitions\\?\\$select=[A-Za-z,]+$`),
    )
    expect(option(list, '$select')?.split(',')).toEqual(
      expect.arrayContaining(['LogicalName', 'EntitySetName']),
    )
  })
})
