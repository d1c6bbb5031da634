import { describe, expect, it } from 'vitest'
import { isDataverseError } from '../../src/index.ts'
import { record } from './record.ts'
import type { Recorded } from './recording-server.ts'

// The Web API requests of Microsoft Learn's "Use file column data" (Power Apps > Dataverse > Files and images), each
// sent through the real client to a plain recording server and compared with the page's request, with its ids, file
// names and sizes.

const API = '/api/data/v9.2'
const ID = '00000000-0000-0000-0000-000000000001'
const COLUMN = `${API}/accounts(${ID})/sample_filecolumn`
const MB4 = 4194304
const bytes = (n: number) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 1) & 0xff
  return out
}

function expectStandardHeaders(r: Recorded) {
  expect(r.headers.accept).toBe('application/json')
  expect(r.headers['odata-maxversion']).toBe('4.0')
  expect(r.headers['odata-version']).toBe('4.0')
  expect(r.headers['if-none-match']).toBe('null')
}

describe('Use file column data: upload a file in a single request using Web API', () => {
  it('PATCH the column with Content-Type application/octet-stream, x-ms-file-name and the bytes (204)', async () => {
    const data = bytes(4191273)
    const { requests } = await record(
      () => ({ status: 204 }),
      (c) => c.uploadFile('accounts', ID, 'sample_filecolumn', data, { fileName: '4094kb.txt' }),
    )
    expect(requests).toHaveLength(1)
    const [r] = requests as [Recorded]
    expect(r.method).toBe('PATCH')
    expect(r.target).toBe(COLUMN)
    expectStandardHeaders(r)
    expect(r.headers['content-type']).toBe('application/octet-stream')
    expect(r.headers['x-ms-file-name']).toBe('4094kb.txt')
    expect(r.headers['content-length']).toBe('4191273')
    expect(r.raw.equals(data)).toBe(true)
  })

  it('sends an ArrayBuffer or a Blob as the same bytes', async () => {
    const data = bytes(1000)
    const { requests } = await record(
      () => ({ status: 204 }),
      async (c) => {
        await c.uploadFile('accounts', ID, 'sample_filecolumn', data.slice().buffer, { fileName: 'a.bin' })
        await c.uploadFile('accounts', ID, 'sample_filecolumn', new Blob([data]), { fileName: 'a.bin' })
      },
    )
    expect(requests.map((r) => r.raw.equals(data))).toEqual([true, true])
  })
})

describe('Use file column data: upload the file in chunks using Web API', () => {
  it('starts with x-ms-transfer-mode: chunked and ?x-ms-file-name, then PATCHes each chunk to Location with Content-Range (206, then 204)', async () => {
    const size = 25870370 // the page's 25mb.pdf
    const data = bytes(size)
    let location = ''
    const { requests, origin } = await record(
      (r, i) => {
        if (i === 0)
          return {
            status: 200,
            headers: { 'Accept-Ranges': 'bytes', Location: location, 'x-ms-chunk-size': String(MB4) },
          }
        return { status: r.headers['content-range']?.endsWith(`${size - 1}/${size}`) ? 204 : 206 }
      },
      async (c, o) => {
        location = `${o}${COLUMN}?sessiontoken=abc123`
        await c.uploadFile('accounts', ID, 'sample_filecolumn', data, { fileName: '25mb.pdf', chunked: true })
      },
    )
    expect(origin).not.toBe('')
    const [first, ...chunks] = requests as [Recorded, ...Recorded[]]
    expect(first.method).toBe('PATCH')
    expect(first.target).toBe(`${COLUMN}?x-ms-file-name=25mb.pdf`)
    expectStandardHeaders(first)
    expect(first.headers['x-ms-transfer-mode']).toBe('chunked')
    expect(first.raw.byteLength).toBe(0)
    // the page's seven Content-Range values, in order
    expect(chunks.map((r) => r.headers['content-range'])).toEqual([
      'bytes 0-4194303/25870370',
      'bytes 4194304-8388607/25870370',
      'bytes 8388608-12582911/25870370',
      'bytes 12582912-16777215/25870370',
      'bytes 16777216-20971519/25870370',
      'bytes 20971520-25165823/25870370',
      'bytes 25165824-25870369/25870370',
    ])
    for (const r of chunks) {
      expect(r.method).toBe('PATCH')
      expect(r.target).toBe(`${COLUMN}?sessiontoken=abc123`)
      expectStandardHeaders(r)
      expect(r.headers['content-type']).toBe('application/octet-stream')
      expect(r.headers['x-ms-file-name']).toBe('25mb.pdf')
    }
    expect(chunks.at(-1)?.headers['content-length']).toBe('704546')
    expect(Buffer.concat(chunks.map((r) => r.raw)).equals(data)).toBe(true)
  })

  it('chunks a name outside ASCII, which only the query parameter carries', async () => {
    const { requests } = await record(
      (_, i) =>
        i === 0
          ? { status: 200, headers: { Location: `${COLUMN}?sessiontoken=t`, 'x-ms-chunk-size': String(MB4) } }
          : { status: 204 },
      (c) => c.uploadFile('accounts', ID, 'sample_filecolumn', bytes(10), { fileName: '测试.txt' }),
    )
    expect(decodeURIComponent(requests[0]?.target ?? '')).toBe(`${COLUMN}?x-ms-file-name=测试.txt`)
    expect(requests[1]?.headers['x-ms-file-name']).toBeUndefined()
    expect(requests[1]?.headers['content-range']).toBe('bytes 0-9/10')
  })

  it('regression: refuses a Location on another origin without sending the token there', async () => {
    const { requests, result } = await record(
      () => ({
        status: 200,
        headers: { Location: 'https://evil.example/steal', 'x-ms-chunk-size': String(MB4) },
      }),
      (c) =>
        c
          .uploadFile('accounts', ID, 'sample_filecolumn', bytes(10), { fileName: 'a.txt', chunked: true })
          .catch((e: unknown) => e),
    )
    expect(requests).toHaveLength(1)
    expect(isDataverseError(result) && result.code).toBe('INVALID_RESPONSE')
  })
})

describe('Use file column data: download a file using Web API', () => {
  it('in a single request: GET $value without Range answers the bytes with x-ms-file-size, x-ms-file-name and mimetype', async () => {
    const data = bytes(4191273)
    const { requests, result } = await record(
      () => ({
        status: 200,
        headers: { 'x-ms-file-size': '4191273', 'x-ms-file-name': '4094kb.txt', mimetype: 'text/plain' },
        body: data,
      }),
      (c) => c.downloadFile('accounts', ID, 'sample_filecolumn', { chunked: false }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('GET')
    expect(r.target).toBe(`${COLUMN}/$value`)
    expectStandardHeaders(r)
    expect(r.headers.range).toBeUndefined()
    const got = result as { data: Uint8Array; fileName: string; fileSize: number; mimeType: string }
    expect({ ...got, data: undefined }).toEqual({
      data: undefined,
      fileName: '4094kb.txt',
      fileSize: 4191273,
      mimeType: 'text/plain',
    })
    expect(Buffer.from(got.data).equals(data)).toBe(true)
  })

  it('in chunks: Range: bytes=0-4194303, then the next range while bytes remain (206 PartialContent)', async () => {
    const size = 25870370
    const data = bytes(size)
    const { requests, result } = await record(
      (r) => {
        const [start, end] = (/bytes=(\d+)-(\d+)/.exec(r.headers.range ?? '') ?? []).slice(1).map(Number) as [
          number,
          number,
        ]
        return {
          status: 206,
          headers: {
            'x-ms-file-size': String(size),
            'x-ms-file-name': '25mb.pdf',
            'x-ms-chunk-size': String(MB4),
            mimetype: 'application/pdf',
          },
          body: data.subarray(start, Math.min(end + 1, size)),
        }
      },
      (c) => c.downloadFile('accounts', ID, 'sample_filecolumn'),
    )
    expect(requests.map((r) => r.headers.range)).toEqual([
      'bytes=0-4194303',
      'bytes=4194304-8388607',
      'bytes=8388608-12582911',
      'bytes=12582912-16777215',
      'bytes=16777216-20971519',
      'bytes=20971520-25165823',
      'bytes=25165824-29360127',
    ])
    for (const r of requests) {
      expect(r.target).toBe(`${COLUMN}/$value`)
      expectStandardHeaders(r)
    }
    const got = result as { data: Uint8Array; fileName: string; fileSize: number }
    expect(got.fileSize).toBe(size)
    expect(got.fileName).toBe('25mb.pdf')
    expect(Buffer.from(got.data).equals(data)).toBe(true)
  })

  it('refuses a chunk shorter than the range it asked for', async () => {
    const { result } = await record(
      () => ({
        status: 206,
        headers: { 'x-ms-file-size': String(MB4 * 2), 'x-ms-file-name': 'a' },
        body: bytes(10),
      }),
      (c) => c.downloadFile('accounts', ID, 'sample_filecolumn').catch((e: unknown) => e),
    )
    expect(isDataverseError(result) && result.code).toBe('INVALID_RESPONSE')
  })
})

describe('Use file column data: send DELETE request to the file column', () => {
  it('DELETE the column (204)', async () => {
    const { requests } = await record(
      () => ({ status: 204 }),
      (c) => c.deleteFile('accounts', ID, 'sample_filecolumn'),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('DELETE')
    expect(r.target).toBe(COLUMN)
    expectStandardHeaders(r)
  })
})
