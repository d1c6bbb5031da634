import { describe, expect, it } from 'vitest'
import type { DataverseError } from '../../src/index.ts'
import { bind } from '../../src/index.ts'
import { embedded, emptyBatchResponse, record } from './record.ts'
import type { Recorded } from './recording-server.ts'

// Writes that return the row, and single-property writes alone and in a $batch, each compared with the request on the
// Microsoft Learn page (Power Apps > Dataverse > Web API) its describe block names.

const API = '/api/data/v9.2'
const ID = '00000000-0000-0000-0000-000000000001'
const ID2 = '00000000-0000-0000-0000-000000000002'
const ID3 = '00000000-0000-0000-0000-000000000003'
const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as DataverseError,
  )

describe('Create a table row using the Web API: create with data returned, with $expand', () => {
  // § Associate table rows on create: the request "is using the Prefer: return=representation header so it returns
  // the values of the created record", with $select=name&$expand=primarycontactid($select=fullname),Account_Tasks(…)
  it('POST accounts?$select=name&$expand=primarycontactid($select=fullname),Account_Tasks($select=subject)', async () => {
    const returned = {
      '@odata.etag': 'W/"36236432"',
      name: 'Sample Account',
      accountid: '00000000-0000-0000-0000-000000000004',
      primarycontactid: { '@odata.etag': 'W/"28877094"', fullname: 'Yvonne McKay (sample)', contactid: ID },
      Account_Tasks: [
        { '@odata.etag': 'W/"36236437"', subject: 'Task 1', activityid: ID2 },
        { '@odata.etag': 'W/"36236440"', subject: 'Task 2', activityid: ID3 },
      ],
    }
    const data = {
      name: 'Sample Account',
      'primarycontactid@odata.bind': bind('contacts', ID),
      'Account_Tasks@odata.bind': [bind('tasks', ID2), bind('tasks', ID3)],
    }
    const { requests, result } = await record(
      () => ({ status: 201, body: returned, headers: { 'Preference-Applied': 'return=representation' } }),
      (c) =>
        c.create('accounts', data, {
          returnRepresentation: true,
          select: ['name'],
          expand: [
            { property: 'primarycontactid', select: ['fullname'] },
            { property: 'Account_Tasks', select: ['subject'] },
          ],
        }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('POST')
    expect(decodeURIComponent(r.target)).toBe(
      `${API}/accounts?$select=name&$expand=primarycontactid($select=fullname),Account_Tasks($select=subject)`,
    )
    expect(r.headers.prefer).toBe('return=representation')
    expect(r.headers['content-type']).toMatch(/^application\/json; charset=utf-8/)
    expect(r.headers.accept).toBe('application/json')
    expect(r.headers['odata-maxversion']).toBe('4.0')
    expect(r.headers['odata-version']).toBe('4.0')
    expect(JSON.parse(r.body)).toEqual({
      name: 'Sample Account',
      'primarycontactid@odata.bind': `/contacts(${ID})`,
      'Account_Tasks@odata.bind': [`/tasks(${ID2})`, `/tasks(${ID3})`],
    })
    expect(result).toEqual(returned)
  })

  it('takes expand as text too, as query() and retrieve() do', async () => {
    const { requests } = await record(
      () => ({ status: 201, body: { name: 'x' } }),
      (c) =>
        c.create(
          'accounts',
          { name: 'x' },
          { returnRepresentation: true, expand: 'primarycontactid($select=fullname)' },
        ),
    )
    expect(decodeURIComponent(requests[0]?.target ?? '')).toBe(
      `${API}/accounts?$expand=primarycontactid($select=fullname)`,
    )
  })

  it('refuses expand without returnRepresentation (it would shape nothing), before sending', async () => {
    const { requests, result } = await record(
      () => ({ status: 204, headers: { 'OData-EntityId': `http://x${API}/accounts(${ID})` } }),
      (c) =>
        caught(
          c.create(
            'accounts',
            { name: 'x' },
            // a caller without types, or one that casts
            { expand: [{ property: 'primarycontactid' }] } as never,
          ),
        ),
    )
    expect(requests).toHaveLength(0)
    expect(result).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('expand') })
  })

  it('refuses an invalid expanded property name before sending', async () => {
    const { requests, result } = await record(
      () => ({ status: 201, body: {} }),
      (c) =>
        caught(
          c.create(
            'accounts',
            { name: 'x' },
            { returnRepresentation: true, expand: [{ property: 'primarycontactid/$ref' }] },
          ),
        ),
    )
    expect(requests).toHaveLength(0)
    expect(result).toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})

describe('Update and delete table rows using the Web API: update with data returned', () => {
  // § Update with data returned: "The $expand query option will be ignored if used."
  it('refuses expand on an update, which Dataverse ignores, before sending', async () => {
    const { requests, result } = await record(
      () => ({ status: 200, body: {} }),
      (c) =>
        caught(
          c.update('accounts', ID, { name: 'Updated Sample Account' }, {
            returnRepresentation: true,
            select: ['name'],
            expand: [{ property: 'primarycontactid' }],
          } as never),
        ),
    )
    expect(requests).toHaveLength(0)
    expect(result).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('expand') })
  })
})

describe('Update and delete table rows using the Web API: single property values in a $batch', () => {
  // § Update a single property value: PUT …/accounts(id)/name with {"value": "Updated Sample Account Name"};
  // § Delete a single property value: DELETE …/accounts(id)/description. Execute batch operations using the Web API:
  // each operation is an embedded request, with a Content-ID inside a change set; `$1` names the row a part created.
  it('PUT and DELETE on a property, outside and inside a change set (by Content-ID)', async () => {
    const { requests } = await record(
      () => emptyBatchResponse,
      (c) => {
        const batch = c.batch()
        batch.setProperty('accounts', ID, 'name', 'Updated Sample Account Name')
        batch.clearProperty('accounts', ID, 'description')
        batch.changeSet((cs) => {
          const account = cs.create('accounts', { name: 'Sample Account', description: 'gone soon' })
          cs.setProperty('accounts', account.ref, 'name', 'Renamed')
          cs.clearProperty('accounts', account.ref, 'description')
        })
        return batch.execute()
      },
    )
    const r = requests[0] as Recorded
    expect([r.method, r.target]).toEqual(['POST', `${API}/$batch`])
    const parts = embedded(r)
    expect(parts.map((p) => p.line)).toEqual([
      `PUT ${API}/accounts(${ID})/name HTTP/1.1`,
      `DELETE ${API}/accounts(${ID})/description HTTP/1.1`,
      `POST ${API}/accounts HTTP/1.1`,
      'PUT $1/name HTTP/1.1',
      'DELETE $1/description HTTP/1.1',
    ])
    expect(parts.map((p) => /Content-ID: (\d+)/.exec(p.part)?.[1])).toEqual([
      undefined,
      undefined,
      '1',
      '2',
      '3',
    ])
    expect(JSON.parse(parts[0]?.body ?? '')).toEqual({ value: 'Updated Sample Account Name' })
    expect(parts[0]?.headers).toContain('content-type: application/json')
    expect(JSON.parse(parts[3]?.body ?? '')).toEqual({ value: 'Renamed' })
    for (const i of [1, 4]) {
      expect(parts[i]?.body).toBe('')
      expect(parts[i]?.headers.filter((h) => /^content-type:/i.test(h))).toEqual([])
    }
  })

  it('refuses a property that is not a name and a value of undefined, before sending anything', async () => {
    const { requests, result } = await record(
      () => emptyBatchResponse,
      async (c) => {
        const batch = c.batch()
        const bad = [
          caught(Promise.resolve().then(() => batch.setProperty('accounts', ID, 'name/$value', 'x'))),
          caught(Promise.resolve().then(() => batch.clearProperty('accounts', ID, ''))),
          caught(Promise.resolve().then(() => batch.setProperty('accounts', ID, 'name', undefined))),
          caught(c.setProperty('accounts', ID, 'name', undefined)),
        ]
        return Promise.all(bad)
      },
    )
    expect(requests).toHaveLength(0)
    expect(result).toEqual([
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    ])
  })
})
