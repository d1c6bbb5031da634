import { beforeAll, describe, expect, it } from 'vitest'
import { SESSION_TTL_MS } from './file-columns.ts'
import { ids, setup } from './test-support.ts'

// Learn, Use file column data: the Web API's single and chunked uploads, whole and ranged downloads and DELETE.
const API = '/api/data/v9.2'
const MB = 1024 * 1024
let env: Awaited<ReturnType<typeof setup>>
let docId: string

const bytes = (n: number, seed = 7) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

/** Byte equality without a deep comparison of millions of elements. */
const same = (a: Uint8Array | ArrayBuffer, b: Uint8Array) => Buffer.from(a as Uint8Array).equals(b)

async function errorOf(r: Response): Promise<{ code: string; message: string }> {
  return ((await r.json()) as { error: { code: string; message: string } }).error
}

async function newDoc(): Promise<string> {
  const r = await env.request(`${API}/new_documents`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ new_name: 'Doc' }),
  })
  expect(r.status).toBe(204)
  return /\(([^)]+)\)/.exec(r.headers.get('odata-entityid') ?? '')?.[1] as string
}

async function startChunked(id: string, name = 'big.bin', init: RequestInit = {}) {
  const r = await env.request(
    `${API}/new_documents(${id})/new_file?x-ms-file-name=${encodeURIComponent(name)}`,
    {
      method: 'PATCH',
      ...init,
      headers: { 'x-ms-transfer-mode': 'chunked', ...(init.headers as Record<string, string>) },
    },
  )
  expect(r.status).toBe(200)
  return r
}

const chunk = (location: string, data: Uint8Array, from: number, total: number, init: RequestInit = {}) =>
  env.request(location, {
    method: 'PATCH',
    ...init,
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Range': `bytes ${from}-${from + data.byteLength - 1}/${total}`,
      'x-ms-file-name': 'big.bin',
      ...(init.headers as Record<string, string>),
    },
    body: data as BodyInit,
  })

async function download(id: string, range?: string) {
  return env.request(
    `${API}/new_documents(${id})/new_file/$value`,
    range ? { headers: { Range: range } } : {},
  )
}

beforeAll(async () => {
  env = await setup({
    seed: {
      tables: [
        {
          logicalName: 'new_document',
          entitySetName: 'new_documents',
          primaryName: 'new_name',
          columns: [
            { name: 'new_name', type: 'string' },
            { name: 'new_file', type: 'file', maxSizeInKB: 20 * 1024 },
            { name: 'new_small', type: 'file', maxSizeInKB: 1 },
          ],
        },
      ],
      roles: [
        {
          name: 'Documents',
          privileges: ['prvReadnew_document', 'prvCreatenew_document', 'prvWritenew_document'],
        },
      ],
      systemUsers: [
        { applicationId: ids.multiTenantAppId, roles: ['Dataverse S2S Connector', 'Documents'] },
        { userObjectId: ids.users.contosoAlice, roles: ['Basic User', 'Documents'] },
      ],
    },
  })
  docId = await newDoc()
})

describe('file columns over plain HTTP', () => {
  it('uploads in a single request (204) and downloads the bytes with x-ms-file-name, x-ms-file-size and mimetype', async () => {
    const data = bytes(5000)
    const put = await env.request(`${API}/new_documents(${docId})/new_file`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'x-ms-file-name': 'report.pdf' },
      body: data,
    })
    expect(put.status).toBe(204)
    const got = await download(docId)
    expect(got.status).toBe(200)
    expect(got.headers.get('x-ms-file-name')).toBe('report.pdf')
    expect(got.headers.get('x-ms-file-size')).toBe('5000')
    expect(got.headers.get('mimetype')).toBe('application/pdf')
    expect(same(await got.arrayBuffer(), data)).toBe(true)
    const row = (await (
      await env.request(`${API}/new_documents(${docId})?$select=new_file,new_file_name`)
    ).json()) as Record<string, unknown>
    expect(row.new_file).toMatch(/^[0-9a-f-]{36}$/)
    expect(row.new_file_name).toBe('report.pdf')
  })

  it('uploads in chunks: 200 with Location, x-ms-chunk-size and Accept-Ranges, then 206 per chunk and 204 at the end', async () => {
    const id = await newDoc()
    const total = 9 * MB + 123
    const data = bytes(total, 3)
    const init = await startChunked(id)
    expect(init.headers.get('x-ms-chunk-size')).toBe(String(4 * MB))
    expect(init.headers.get('accept-ranges')).toBe('bytes')
    const location = init.headers.get('location') as string
    expect(location).toMatch(new RegExp(`/api/data/v9.2/new_documents\\(${id}\\)/new_file\\?sessiontoken=.+`))
    const statuses: number[] = []
    for (let from = 0; from < total; from += 4 * MB) {
      const r = await chunk(location, data.subarray(from, Math.min(from + 4 * MB, total)), from, total)
      statuses.push(r.status)
    }
    expect(statuses).toEqual([206, 206, 204])
    const first = await download(id, 'bytes=0-4194303')
    expect(first.status).toBe(206)
    expect(first.headers.get('x-ms-file-size')).toBe(String(total))
    expect(first.headers.get('x-ms-chunk-size')).toBe(String(4 * MB))
    expect(first.headers.get('x-ms-file-name')).toBe('big.bin')
    expect(same(await first.arrayBuffer(), data.subarray(0, 4 * MB))).toBe(true)
    const last = await download(id, `bytes=${8 * MB}-${12 * MB - 1}`)
    expect(last.status).toBe(206)
    expect(same(await last.arrayBuffer(), data.subarray(8 * MB))).toBe(true)
  })

  it('refuses a chunk larger than x-ms-chunk-size (XrmMockup #329) and keeps the session usable', async () => {
    const id = await newDoc()
    const location = (await startChunked(id)).headers.get('location') as string
    const big = bytes(4 * MB + 1)
    const refused = await chunk(location, big, 0, 5 * MB)
    expect(refused.status).toBe(400)
    expect((await errorOf(refused)).message).toContain('Maximum chunk size supported: 4 MB.')
    const data = bytes(5 * MB)
    expect((await chunk(location, data.subarray(0, 4 * MB), 0, 5 * MB)).status).toBe(206)
    expect((await chunk(location, data.subarray(4 * MB), 4 * MB, 5 * MB)).status).toBe(204)
    expect(same(await (await download(id, `bytes=0-${5 * MB - 1}`)).arrayBuffer(), data)).toBe(true)
  })

  it('refuses out-of-order, overlapping, mislabelled and resized chunks without corrupting the stored file', async () => {
    const id = await newDoc()
    const original = bytes(100, 1)
    await env.request(`${API}/new_documents(${id})/new_file`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'x-ms-file-name': 'keep.txt' },
      body: original,
    })
    const location = (await startChunked(id)).headers.get('location') as string
    const data = bytes(300, 9)
    const cases: [Response, number][] = [
      [await chunk(location, data.subarray(100, 200), 100, 300), 400], // a gap: starts past byte 0
      [await chunk(location, data.subarray(0, 100), 0, 300), 206],
      [await chunk(location, data.subarray(50, 150), 50, 300), 400], // overlaps what was received
      [await chunk(location, data.subarray(0, 100), 0, 300), 400], // the same chunk again
      [await chunk(location, data.subarray(100, 200), 100, 400), 400], // another total
      [
        await chunk(location, data.subarray(100, 150), 100, 300, {
          headers: { 'Content-Range': 'bytes 100-199/300' },
        }),
        400,
      ],
      [
        await chunk(location, data.subarray(100, 200), 100, 300, {
          headers: { 'Content-Range': 'bytes=100-199' },
        }),
        400,
      ],
      [
        await chunk(location, data.subarray(100, 200), 100, 300, {
          headers: { 'Content-Type': 'text/plain' },
        }),
        400,
      ],
    ]
    expect(cases.map(([r]) => r.status)).toEqual(cases.map(([, s]) => s))
    for (const [r, s] of cases) if (s === 400) expect((await errorOf(r)).code).toBe('0x80040203')
    // the stored file is still the earlier one until the last chunk arrives
    const kept = await download(id)
    expect(kept.headers.get('x-ms-file-name')).toBe('keep.txt')
    expect(same(await kept.arrayBuffer(), original)).toBe(true)
    expect((await chunk(location, data.subarray(100), 100, 300)).status).toBe(204)
    expect(same(await (await download(id)).arrayBuffer(), data)).toBe(true)
  })

  it('binds a session token to its row, column and caller, and expires it', async () => {
    const id = await newDoc()
    const other = await newDoc()
    const location = (await startChunked(id)).headers.get('location') as string
    const token = new URL(location).searchParams.get('sessiontoken') as string
    const data = bytes(10)
    const otherRow = await chunk(`${API}/new_documents(${other})/new_file?sessiontoken=${token}`, data, 0, 10)
    expect(otherRow.status).toBe(400)
    const otherColumn = await chunk(
      `${API}/new_documents(${id})/new_small?sessiontoken=${token}`,
      data,
      0,
      10,
    )
    expect(otherColumn.status).toBe(400)
    const alice = await env.userToken(ids.users.contosoAlice)
    const otherCaller = await env.request(location, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': 'bytes 0-9/10',
      },
      body: data,
      token: alice,
    })
    expect(otherCaller.status).toBe(400)
    const forged = await chunk(`${API}/new_documents(${id})/new_file?sessiontoken=forged`, data, 0, 10)
    expect(forged.status).toBe(400)
    const expiring = (await startChunked(id)).headers.get('location') as string
    env.world.clock.advance(SESSION_TTL_MS + 1000)
    const expired = await chunk(expiring, data, 0, 10)
    expect(expired.status).toBe(400)
    expect((await errorOf(expired)).message).toContain('expired')
    // the row has no file: nothing was stored by any refused chunk
    expect((await download(id)).status).toBe(404)
  })

  it("refuses a file above the column's MaxSizeInKB with 0x80044a02, in one request or in chunks", async () => {
    const id = await newDoc()
    const whole = await env.request(`${API}/new_documents(${id})/new_small`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'x-ms-file-name': 'a.txt' },
      body: bytes(1025),
    })
    expect(whole.status).toBe(400)
    expect(await errorOf(whole)).toEqual({ code: '0x80044a02', message: 'Attachment file size is too big.' })
    const init = await env.request(`${API}/new_documents(${id})/new_small?x-ms-file-name=a.txt`, {
      method: 'PATCH',
      headers: { 'x-ms-transfer-mode': 'chunked' },
    })
    const r = await chunk(init.headers.get('location') as string, bytes(10), 0, 1025)
    expect(r.status).toBe(400)
    expect((await errorOf(r)).code).toBe('0x80044a02')
    expect(((await (await download(id)).json()) as { error: { code: string } }).error.code).toBe('0x80040217')
  })

  it('needs the name, the octet-stream type and a file column; answers ranges the file does not have with 416', async () => {
    const noName = await env.request(`${API}/new_documents(${docId})/new_file`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes(3),
    })
    expect(noName.status).toBe(400)
    const json = await env.request(`${API}/new_documents(${docId})/new_file`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', 'x-ms-file-name': 'a.json' },
      body: '{}',
    })
    expect(json.status).toBe(400)
    const notFile = await env.request(`${API}/new_documents(${docId})/new_name?x-ms-file-name=a.txt`, {
      method: 'PATCH',
      headers: { 'x-ms-transfer-mode': 'chunked' },
    })
    expect(notFile.status).toBe(404)
    expect((await errorOf(notFile)).message).toContain('No HTTP resource')
    const beyond = await download(docId, 'bytes=999999-1000000')
    expect(beyond.status).toBe(416)
    expect((await download(docId, 'bytes=10-5')).status).toBe(416)
  })

  it('deletes a file (204): the column and its name read null again', async () => {
    const id = await newDoc()
    await env.request(`${API}/new_documents(${id})/new_file`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'x-ms-file-name': 'gone.txt' },
      body: bytes(10),
    })
    const del = await env.request(`${API}/new_documents(${id})/new_file`, { method: 'DELETE' })
    expect(del.status).toBe(204)
    const row = (await (
      await env.request(`${API}/new_documents(${id})?$select=new_file,new_file_name`)
    ).json()) as Record<string, unknown>
    expect(row.new_file).toBeNull()
    expect(row.new_file_name).toBeNull()
    expect((await download(id)).status).toBe(404)
  })

  it("needs the table's read privilege to download and write privilege to upload or delete", async () => {
    const bob = await env.userToken(ids.users.contosoBob)
    const read = await env.request(`${API}/new_documents(${docId})/new_file/$value`, { token: bob })
    expect(read.status).toBe(403)
    expect((await errorOf(read)).message).toContain('prvReadnew_document')
    const write = await env.request(`${API}/new_documents(${docId})/new_file`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'x-ms-file-name': 'x.txt' },
      body: bytes(3),
      token: bob,
    })
    expect(write.status).toBe(403)
    expect((await errorOf(write)).message).toContain('prvWritenew_document')
    const del = await env.request(`${API}/new_documents(${docId})/new_file`, { method: 'DELETE', token: bob })
    expect(del.status).toBe(403)
    expect((await download(docId)).status).toBe(200)
  })

  it('describes the column as FileAttributeMetadata: AttributeType Virtual, AttributeTypeName FileType, MaxSizeInKB', async () => {
    const r = await env.request(
      `${API}/EntityDefinitions(LogicalName='new_document')/Attributes(LogicalName='new_file')/Microsoft.Dynamics.CRM.FileAttributeMetadata?$select=MaxSizeInKB,AttributeType,AttributeTypeName`,
    )
    expect(r.status).toBe(200)
    const body = (await r.json()) as Record<string, unknown>
    expect(body.MaxSizeInKB).toBe(20 * 1024)
    expect(body.AttributeType).toBe('Virtual')
    expect(body.AttributeTypeName).toEqual({ Value: 'FileType' })
  })
})
