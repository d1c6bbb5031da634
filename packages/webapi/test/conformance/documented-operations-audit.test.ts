import { describe, expect, it } from 'vitest'
import { createDataverseClient, guid, isDataverseError } from '../../src/index.ts'
import { guarded } from '../runaway.ts'
import { record, serve } from './record.ts'
import type { Recorded, Reply } from './recording-server.ts'

// Writes, operations, errors and limits from Learn pages the first conformance files did not cover (Use bulk
// operation messages, Use Upsert to Create or Update a record, Use optional parameters, Use elastic tables using code,
// Merge table rows, Service protection API limits, Compose HTTP requests and handle errors: parse errors), each sent
// through the real client to a plain recording server. The ids are the pages' own where they give one.

const API = '/api/data/v9.2'
const ID = '00000000-0000-0000-0000-000000000001'
const noContent: Reply = { status: 204 }
const json = (body: object, status = 200): Reply => ({ status, body })
const created = (entityId: string): Reply => ({
  status: 204,
  headers: { 'OData-EntityId': `http://x${API}/${entityId}` },
})
/** The request target as the docs write it: not percent-encoded. */
const plain = (r: Recorded | undefined) => decodeURIComponent(r?.target ?? '')

function expectJsonWrite(r: Recorded) {
  expect(r.headers.accept).toBe('application/json')
  expect(r.headers['odata-maxversion']).toBe('4.0')
  expect(r.headers['odata-version']).toBe('4.0')
  expect(r.headers['if-none-match']).toBe('null')
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
}

describe('Use bulk operation messages', () => {
  const table = { entitySet: 'sample_examples', logicalName: 'sample_example' }
  const type = 'Microsoft.Dynamics.CRM.sample_example'
  const ids = [
    '8f4c3f92-312b-ee11-bdf4-000d3a993550',
    '904c3f92-312b-ee11-bdf4-000d3a993550',
    '914c3f92-312b-ee11-bdf4-000d3a993550',
  ]

  it('CreateMultiple: POST sample_examples/Microsoft.Dynamics.CRM.CreateMultiple, every target typed, Ids in order', async () => {
    const names = ['sample record 0000001', 'sample record 0000002', 'sample record 0000003']
    const { requests, result } = await record(
      () => json({ Ids: ids }),
      (c) =>
        c.createMultiple(
          table,
          names.map((sample_name) => ({ sample_name })),
        ),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual([
      'POST',
      `${API}/sample_examples/Microsoft.Dynamics.CRM.CreateMultiple`,
    ])
    expectJsonWrite(r)
    expect(JSON.parse(r.body)).toEqual({
      Targets: names.map((sample_name) => ({ sample_name, '@odata.type': type })),
    })
    expect(result).toEqual(ids)
  })

  it('UpdateMultiple ?tag=CreateUpdateMultiple: rows named by their primary key column', async () => {
    const targets = ids.map((id, i) => ({
      sample_name: `sample record 000000${i + 1} Updated`,
      sample_exampleid: id,
    }))
    const { requests, result } = await record(
      () => noContent,
      (c) => c.updateMultiple(table, targets, { tag: 'CreateUpdateMultiple' }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual([
      'POST',
      `${API}/sample_examples/Microsoft.Dynamics.CRM.UpdateMultiple?tag=CreateUpdateMultiple`,
    ])
    expectJsonWrite(r)
    expect(JSON.parse(r.body)).toEqual({ Targets: targets.map((t) => ({ ...t, '@odata.type': type })) })
    expect(result).toBe(3)
  })

  it("UpsertMultiple by alternate key: each target's @odata.id is sample_examples(sample_keyattribute='…')", async () => {
    const rows = ['0000001', '0000002', '0000003', '0000004'].map((k) => ({
      sample_name: `sample record ${k}`,
    }))
    const { requests } = await record(
      () => noContent,
      (c) =>
        c.upsertMultiple(table, rows, {
          key: (row) => ({ sample_keyattribute: String(row.sample_name).slice(-7) }),
        }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual([
      'POST',
      `${API}/sample_examples/Microsoft.Dynamics.CRM.UpsertMultiple`,
    ])
    expectJsonWrite(r)
    expect(JSON.parse(r.body)).toEqual({
      Targets: rows.map((row) => ({
        ...row,
        '@odata.type': type,
        '@odata.id': `sample_examples(sample_keyattribute='${row.sample_name.slice(-7)}')`,
      })),
    })
  })

  it('DeleteMultiple (elastic tables) through callAction bound to the entity set', async () => {
    const body = {
      Targets: ['6114ca58', '6214ca58', '6314ca58'].map((p) => ({
        '@odata.type': 'Microsoft.Dynamics.CRM.contoso_sensordata',
        contoso_sensordataid: `${p}-0928-ee11-9965-6045bd5cd155`,
        partitionid: 'Device-ABC-1234',
      })),
    }
    const { requests, result } = await record(
      () => noContent,
      (c) => c.callAction('DeleteMultiple', body, { boundTo: { entitySet: 'contoso_sensordatas' } }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual([
      'POST',
      `${API}/contoso_sensordatas/Microsoft.Dynamics.CRM.DeleteMultiple`,
    ])
    expectJsonWrite(r)
    expect(JSON.parse(r.body)).toEqual(body)
    expect(result).toBeUndefined()
  })

  it('is the message available for the table: sdkmessagefilters with @message and @table aliases', async () => {
    const { requests } = await record(
      () => json({ value: [{ sdkmessagefilterid: ID }] }),
      (c) =>
        c.query('sdkmessagefilters', {
          select: ['sdkmessagefilterid'],
          filter: 'sdkmessageid/name eq @message and primaryobjecttypecode eq @table',
          aliases: { message: 'CreateMultiple', table: 'sample_example' },
        }),
    )
    expect(plain(requests[0])).toBe(
      `${API}/sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq @message and primaryobjecttypecode eq @table&@message='CreateMultiple'&@table='sample_example'`,
    )
  })
})

describe('Use Upsert to Create or Update a record', () => {
  it('create or update with upsert: PATCH example_records(example_key1=2,example_key2=2), no If-Match', async () => {
    const { requests } = await record(
      () => created('example_records(example_key1=2,example_key2=2)'),
      async (c) => {
        await c.upsert('example_records', { example_key1: 2, example_key2: 2 }, { example_name: '2:2' })
        await c.upsert(
          'example_records',
          { example_key1: 2, example_key2: 2 },
          { example_name: '2:2 Updated' },
        )
      },
    )
    for (const [i, name] of ['2:2', '2:2 Updated'].entries()) {
      const r = requests[i] as Recorded
      expect([r.method, r.target]).toEqual(['PATCH', `${API}/example_records(example_key1=2,example_key2=2)`])
      expectJsonWrite(r)
      expect(r.headers['if-match']).toBeUndefined()
      expect(JSON.parse(r.body)).toEqual({ example_name: name })
    }
  })

  it('the answer names the row by its keys, so the plain upsert returns no id (not the key text as an id)', async () => {
    const { result } = await record(
      () => created('example_records(example_key1=2,example_key2=2)'),
      (c) => c.upsert('example_records', { example_key1: 2, example_key2: 2 }, { example_name: '2:2' }),
    )
    expect(result).toBeUndefined()
  })

  it('with return=representation: PATCH …?$select=example_recordid, 201 when created, 200 when updated', async () => {
    const row = { '@odata.etag': 'W/"71004878"', example_recordid: 'ef0d112e-d70e-ed11-82e5-00224822577b' }
    const { requests, result } = await record(
      (_, i) => ({
        status: i === 0 ? 201 : 200,
        body: row,
        headers: { 'Preference-Applied': 'return=representation' },
      }),
      async (c) => {
        const options = { returnRepresentation: true, select: ['example_recordid'] } as const
        const key = { example_key1: 3, example_key2: 3 }
        return [
          await c.upsert('example_records', key, { example_name: '3:3' }, options),
          await c.upsert('example_records', key, { example_name: '3:3 Updated' }, options),
        ]
      },
    )
    for (const r of requests) {
      expect([r.method, r.target]).toEqual([
        'PATCH',
        `${API}/example_records(example_key1=3,example_key2=3)?$select=example_recordid`,
      ])
      expect(r.headers.prefer).toBe('return=representation')
      expect(r.headers['if-match']).toBeUndefined()
      expectJsonWrite(r)
    }
    expect(result).toEqual([
      { created: true, row },
      { created: false, row },
    ])
  })

  it('select without returnRepresentation is refused before sending (it would return nothing)', async () => {
    const { requests, result } = await record(
      () => created('example_records(example_key1=2,example_key2=2)'),
      (c) =>
        c
          .upsert('example_records', { example_key1: 2, example_key2: 2 }, {}, { select: ['example_name'] })
          .catch((e: unknown) => e),
    )
    expect(requests).toHaveLength(0)
    expect(result).toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('an update-only PATCH carries If-Match: * (404 when no row matches the keys)', async () => {
    const { requests, result } = await record(
      () =>
        json({ error: { code: '0x80040217', message: 'example_record With Ids = 2,2 Does Not Exist' } }, 404),
      (c) =>
        c
          .upsert(
            'example_records',
            { example_key1: 2, example_key2: 2 },
            { example_name: 'x' },
            { mode: 'updateOnly' },
          )
          .catch((e: unknown) => e),
    )
    expect(requests[0]?.headers['if-match']).toBe('*')
    expect(result).toMatchObject({ code: 'NOT_FOUND', status: 404, serviceCode: '0x80040217' })
  })
})

describe('Use optional parameters', () => {
  it('associate a solution component with a solution: MSCRM.SolutionUniqueName on POST webresourceset', async () => {
    const body = {
      displayname: 'Simple HTML web resource',
      content: 'PCFET0NUWVBFIGh0bWw+',
      webresourcetype: 1,
      name: 'sample_SimpleHTMLWebResource.htm',
      description: 'An example HTML web resource',
    }
    const { requests, result } = await record(
      () => created('webresourceset(00aa00aa-bb11-cc22-dd33-44ee44ee44ee)'),
      (c) => c.create('webresourceset', body, { solutionUniqueName: 'ExampleSolution' }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/webresourceset`])
    expectJsonWrite(r)
    expect(r.headers['mscrm.solutionuniquename']).toBe('ExampleSolution')
    expect(JSON.parse(r.body)).toEqual(body)
    expect(result).toBe('00aa00aa-bb11-cc22-dd33-44ee44ee44ee')
  })

  it('add a shared variable to the plugin execution context: POST accounts?tag=A%20string%20value', async () => {
    const { requests } = await record(
      () => created(`accounts(${ID})`),
      (c) => c.create('accounts', { name: 'Sample Account' }, { tag: 'A string value' }),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/accounts?tag=A%20string%20value`])
    expect(JSON.parse(r.body)).toEqual({ name: 'Sample Account' })
  })

  it('tag follows the other query options of a read, and is refused when empty', async () => {
    const { requests, result } = await record(
      () => json({ value: [] }),
      async (c) => {
        await c.query('accounts', { select: ['name'], tag: 'x&y=z' })
        return c.query('accounts', { tag: '' }).catch((e: unknown) => e)
      },
    )
    expect(requests).toHaveLength(1)
    expect(requests[0]?.target).toBe(`${API}/accounts?$select=name&tag=x%26y%3Dz`)
    expect(result).toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('perform a data operation with a specified partition: GET …?partitionId=…&$select=… with MSCRM.SessionToken', async () => {
    const id = 'da9c32cc-2df8-ed11-8849-000d3a993550'
    const { requests } = await record(
      () => json({ contoso_value: 60 }),
      (c) =>
        c.retrieve('contoso_sensordatas', id, {
          select: ['contoso_value'],
          partitionId: 'Device-ABC-1234',
          headers: { 'MSCRM.SessionToken': '207:8#142792105#7=-1' },
        }),
    )
    const [r] = requests as [Recorded]
    const [path, query = ''] = r.target.split('?')
    expect([r.method, path]).toEqual(['GET', `${API}/contoso_sensordatas(${id})`])
    expect(Object.fromEntries(new URLSearchParams(query))).toEqual({
      partitionId: 'Device-ABC-1234',
      $select: 'contoso_value',
    })
    expect(r.headers['mscrm.sessiontoken']).toBe('207:8#142792105#7=-1')
  })

  it('suppress duplicate detection, bypass custom logic and bypass Power Automate flows on a create', async () => {
    const { requests } = await record(
      () => created(`accounts(${ID})`),
      (c) =>
        c.create(
          'accounts',
          { name: 'Sample Account' },
          {
            bypassBusinessLogicExecution: ['CustomSync', 'CustomAsync'],
            headers: {
              'MSCRM.SuppressDuplicateDetection': 'false',
              'MSCRM.SuppressCallbackRegistrationExpanderJob': 'true',
            },
          },
        ),
    )
    const [r] = requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', `${API}/accounts`])
    expect(r.headers['mscrm.bypassbusinesslogicexecution']).toBe('CustomSync,CustomAsync')
    expect(r.headers['mscrm.suppressduplicatedetection']).toBe('false')
    expect(r.headers['mscrm.suppresscallbackregistrationexpanderjob']).toBe('true')
  })
})

describe('Use elastic tables using code', () => {
  const id = '21d455f2-70f3-ed11-8848-000d3a993550'

  it('create a record with its partitionid in the body; the id read from OData-EntityId', async () => {
    const body = {
      contoso_deviceid: 'deviceid-001',
      contoso_sensortype: 'Humidity',
      contoso_value: 40,
      contoso_timestamp: '2023-05-15T22:36:24Z',
      partitionid: 'deviceid-001',
      ttlinseconds: 86400,
    }
    const { requests, result } = await record(
      () => created(`contoso_sensordatas(${id})`),
      (c) => c.create('contoso_sensordatas', body),
    )
    expect([requests[0]?.method, requests[0]?.target]).toEqual(['POST', `${API}/contoso_sensordatas`])
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual(body)
    expect(result).toBe(id)
  })

  it("update by the KeyForNoSqlEntityWithPKPartitionId key: PATCH …(contoso_sensordataid=<guid>,partitionId='deviceid-001')", async () => {
    const { requests } = await record(
      () => noContent,
      (c) =>
        c.update(
          'contoso_sensordatas',
          { contoso_sensordataid: guid(id), partitionId: 'deviceid-001' },
          { contoso_value: 60, contoso_timestamp: '2023-05-15T22:36:24Z' },
          { headers: { 'MSCRM.SessionToken': '240:8#144035978#7=-1' } },
        ),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('PATCH')
    expect(plain(r)).toBe(`${API}/contoso_sensordatas(contoso_sensordataid=${id},partitionId='deviceid-001')`)
    expect(r.headers['if-match']).toBe('*')
    expect(r.headers['mscrm.sessiontoken']).toBe('240:8#144035978#7=-1')
  })

  it('delete with the partitionId parameter: DELETE contoso_sensordatas(<guid>)?partitionId=…', async () => {
    const { requests } = await record(
      () => noContent,
      (c) => c.delete('contoso_sensordatas', id, { partitionId: 'deviceid-001' }),
    )
    expect([requests[0]?.method, requests[0]?.target]).toEqual([
      'DELETE',
      `${API}/contoso_sensordatas(${id})?partitionId=deviceid-001`,
    ])
  })
})

describe('Merge table rows using the Web API', () => {
  it('POST [Organization URI]/api/data/v9.0/Merge with Target, Subordinate and UpdateContent typed by @odata.type', async () => {
    const body = {
      Target: {
        name: 'Account 1',
        accountid: 'bb8055c0-aea6-ea11-a812-000d3a55d474',
        '@odata.type': 'Microsoft.Dynamics.CRM.account',
      },
      Subordinate: {
        name: 'Account 2',
        accountid: 'c38055c0-aea6-ea11-a812-000d3a55d474',
        '@odata.type': 'Microsoft.Dynamics.CRM.account',
      },
      UpdateContent: { accountnumber: '1234', '@odata.type': 'Microsoft.Dynamics.CRM.account' },
      PerformParentingChecks: false,
    }
    const server = await serve(() => noContent)
    const client = guarded(
      createDataverseClient({ url: server.origin, getToken: () => 'tok', retry: false, apiVersion: '9.0' }),
    )
    expect(await client.callAction('Merge', body)).toBeUndefined()
    const [r] = server.requests as [Recorded]
    expect([r.method, r.target]).toEqual(['POST', '/api/data/v9.0/Merge'])
    expectJsonWrite(r)
    expect(JSON.parse(r.body)).toEqual(body)
  })
})

describe('Service protection API limits', () => {
  const throttled = (seconds: string): Reply => ({
    status: 429,
    headers: { 'Retry-After': seconds },
    body: {
      error: {
        code: '0x80072322',
        message: 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
      },
    },
  })

  it('a 429 is retried after Retry-After (seconds) has passed, the same request sent again', async () => {
    let now = 1_000_000
    const slept: number[] = []
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        slept.push(ms)
        now += ms
      },
    }
    const server = await serve((_r, i) => (i === 0 ? throttled('2') : created(`accounts(${ID})`)))
    const client = guarded(createDataverseClient({ url: server.origin, getToken: () => 'tok', clock }))
    expect(await client.update('accounts', ID, { name: 'x' })).toBeUndefined()
    const [first, second] = server.requests as [Recorded, Recorded]
    expect(server.requests).toHaveLength(2)
    expect([second.method, second.target, second.body]).toEqual([first.method, first.target, first.body])
    expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2000)
  })

  it('when retries are off, the 429 is THROTTLED with Retry-After in ms and the hex code kept', async () => {
    const { requests, result } = await record(
      () => throttled('5'),
      (c) => c.query('accounts').catch((e: unknown) => e),
    )
    expect(requests).toHaveLength(1)
    expect(isDataverseError(result)).toBe(true)
    expect(result).toMatchObject({
      code: 'THROTTLED',
      status: 429,
      serviceCode: '0x80072322',
      retryAfterMs: 5000,
      isThrottle: true,
      isTransient: true,
    })
  })
})

describe('Compose HTTP requests and handle errors: parse errors from the response', () => {
  it('error.code and error.message become serviceCode and the message; the status picks the code', async () => {
    const message = `account With Id = ${ID} Does Not Exist`
    const { result } = await record(
      () => json({ error: { code: '0x80040217', message } }, 404),
      (c) => c.retrieve('accounts', ID).catch((e: unknown) => e),
    )
    expect(result).toMatchObject({ code: 'NOT_FOUND', status: 404, serviceCode: '0x80040217' })
    expect((result as Error).message).toContain(message)
  })

  it('an empty error.code ("frequently empty") leaves serviceCode unset', async () => {
    const { result } = await record(
      () => json({ error: { code: '', message: 'Bad request' } }, 400),
      (c) => c.create('accounts', { name: 'x' }).catch((e: unknown) => e),
    )
    expect(result).toMatchObject({ code: 'BAD_REQUEST', status: 400, serviceCode: undefined })
  })

  it('include additional details with errors: Prefer: odata.include-annotations="*", the annotations kept on error.body', async () => {
    const error = {
      code: '0x80040265',
      message: 'Example Error Message.',
      '@Microsoft.PowerApps.CDS.ErrorDetails.OperationStatus': '1',
      '@Microsoft.PowerApps.CDS.ErrorDetails.SubErrorCode': '12345',
      '@Microsoft.PowerApps.CDS.HelpLink':
        'http://go.microsoft.com/fwlink/?LinkID=398563&error=Microsoft.Crm.CrmException%3a80040265&client=platform',
      '@Microsoft.PowerApps.CDS.InnerError.Message': 'Example Error Message.',
    }
    const { requests, result } = await record(
      () => json({ error }, 400),
      (c) =>
        c
          .create(
            'accounts',
            { name: 'Example Account' },
            { headers: { Prefer: 'odata.include-annotations="*"' } },
          )
          .catch((e: unknown) => e),
    )
    expect(requests[0]?.headers.prefer).toBe('odata.include-annotations="*"')
    expect(result).toMatchObject({ code: 'BAD_REQUEST', serviceCode: '0x80040265', body: error })
  })
})
