import { beforeAll, describe, expect, it } from 'vitest'
import { setup } from './test-support.ts'

// Writes that answer with the row (Prefer: return=representation) and single-property writes, in the forms of
// Microsoft Learn's "Create a table row using the Web API" and "Update and delete table rows using the Web API".

const API = '/api/data/v9.2'
const json = { 'Content-Type': 'application/json' }
const represent = { ...json, Prefer: 'return=representation' }
type Env = Awaited<ReturnType<typeof setup>>
let env: Env
let contactId: string

beforeAll(async () => {
  env = await setup({ seed: { sampleData: false } })
  const res = await env.request(`${API}/contacts`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ firstname: 'Yvonne', lastname: 'McKay' }),
  })
  contactId = /\(([^)]+)\)$/.exec(res.headers.get('odata-entityid') ?? '')?.[1] as string
})

const body = async (res: Response) => (await res.json()) as Record<string, unknown>
const count = async (set: string) => Number(await (await env.request(`${API}/${set}/$count`)).text())

describe('Create with data returned', () => {
  it('expands a single-valued and a collection-valued navigation property of the new row', async () => {
    const res = await env.request(
      `${API}/accounts?$select=name&$expand=primarycontactid($select=fullname),contact_customer_accounts($select=fullname)`,
      {
        method: 'POST',
        headers: represent,
        body: JSON.stringify({
          name: 'Sample Account',
          'primarycontactid@odata.bind': `/contacts(${contactId})`,
          contact_customer_accounts: [{ firstname: 'Deep', lastname: 'Insert' }],
        }),
      },
    )
    expect(res.status).toBe(201)
    expect(res.headers.get('preference-applied')).toBe('return=representation')
    const b = await body(res)
    expect(b.name).toBe('Sample Account')
    expect(b.accountid).toMatch(/^[0-9a-f-]{36}$/)
    expect(b.primarycontactid).toMatchObject({ fullname: 'Yvonne McKay', contactid: contactId })
    expect(b.contact_customer_accounts).toEqual([expect.objectContaining({ fullname: 'Deep Insert' })])
    // Learn's example: `$metadata#accounts(name,primarycontactid(fullname),Account_Tasks(subject))/$entity`
    expect(b['@odata.context']).toBe(
      `${env.url}${API}/$metadata#accounts(name,primarycontactid(fullname),contact_customer_accounts(fullname))/$entity`,
    )
  })

  it('answers null for an empty single-valued navigation property', async () => {
    const res = await env.request(`${API}/accounts?$select=name&$expand=primarycontactid($select=fullname)`, {
      method: 'POST',
      headers: represent,
      body: JSON.stringify({ name: 'No contact' }),
    })
    expect(res.status).toBe(201)
    expect((await body(res)).primarycontactid).toBeNull()
  })

  it('expands on a create through a collection-valued navigation property too', async () => {
    const accounts = await (await env.request(`${API}/accounts?$select=accountid&$top=1`)).json()
    const accountId = (accounts as { value: { accountid: string }[] }).value[0]?.accountid
    const res = await env.request(
      `${API}/accounts(${accountId})/contact_customer_accounts?$select=fullname&$expand=parentcustomerid_account($select=name)`,
      { method: 'POST', headers: represent, body: JSON.stringify({ firstname: 'Related', lastname: 'Row' }) },
    )
    expect(res.status).toBe(201)
    const b = await body(res)
    expect(b.fullname).toBe('Related Row')
    expect(b.parentcustomerid_account).toMatchObject({ accountid: accountId })
  })

  it('refuses an unknown navigation property in $expand with 400 and creates nothing', async () => {
    const before = await count('accounts')
    const res = await env.request(`${API}/accounts?$expand=nosuchnavigation`, {
      method: 'POST',
      headers: represent,
      body: JSON.stringify({ name: 'Never written' }),
    })
    expect(res.status).toBe(400)
    expect(await count('accounts')).toBe(before)
  })
})

describe('Update with data returned', () => {
  it('answers 200 with the $select columns and ignores $expand, as Learn says', async () => {
    const created = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'Before', 'primarycontactid@odata.bind': `/contacts(${contactId})` }),
    })
    const id = /\(([^)]+)\)$/.exec(created.headers.get('odata-entityid') ?? '')?.[1]
    const res = await env.request(`${API}/accounts(${id})?$select=name&$expand=primarycontactid`, {
      method: 'PATCH',
      headers: { ...represent, 'If-Match': '*' },
      body: JSON.stringify({ name: 'After' }),
    })
    expect(res.status).toBe(200)
    const b = await body(res)
    expect(b.name).toBe('After')
    expect(b).not.toHaveProperty('primarycontactid')
  })
})

const part = (line: string, body?: string, contentId?: string) =>
  `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n${contentId ? `Content-ID: ${contentId}\r\n` : ''}\r\n${line} HTTP/1.1\r\n${body === undefined ? '' : 'Content-Type: application/json\r\n'}\r\n${body ?? ''}\r\n`

describe('Update and delete a single property value in a $batch', () => {
  it('PUT {"value": …} and DELETE on a property, by id and by Content-ID in a change set', async () => {
    const created = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'Batch props', description: 'to clear', telephone1: '1' }),
    })
    const id = /\(([^)]+)\)$/.exec(created.headers.get('odata-entityid') ?? '')?.[1]
    const changeSet = [
      part(`POST ${API}/accounts`, JSON.stringify({ name: 'New', description: 'gone soon' }), '1'),
      part('PUT $1/name', JSON.stringify({ value: 'Renamed in change set' }), '2'),
      part('DELETE $1/description', undefined, '3'),
    ]
      .map((p) => `--changeset_p\r\n${p}`)
      .join('')
    const batchBody = [
      `--batch_p\r\n${part(`PUT ${API}/accounts(${id})/name`, JSON.stringify({ value: 'Renamed' }))}`,
      `--batch_p\r\n${part(`DELETE ${API}/accounts(${id})/description`)}`,
      `--batch_p\r\nContent-Type: multipart/mixed; boundary=changeset_p\r\n\r\n${changeSet}--changeset_p--\r\n`,
      '--batch_p--\r\n',
    ].join('')
    const res = await env.request(`${API}/$batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/mixed; boundary=batch_p' },
      body: batchBody,
    })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual([
      'HTTP/1.1 204',
      'HTTP/1.1 204',
      'HTTP/1.1 204',
      'HTTP/1.1 204',
      'HTTP/1.1 204',
    ])
    const read = await body(await env.request(`${API}/accounts(${id})?$select=name,description,telephone1`))
    expect(read).toMatchObject({ name: 'Renamed', description: null, telephone1: '1' })
    const made = await body(
      await env.request(`${API}/accounts?$select=name,description&$filter=name eq 'Renamed in change set'`),
    )
    expect(made.value).toEqual([expect.objectContaining({ description: null })])
  })
})
