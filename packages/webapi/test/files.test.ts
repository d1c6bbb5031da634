import { defaultIds, defaultSeed, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createDataverseClient,
  type DataverseClient,
  type DataverseClientOptions,
  isDataverseError,
} from '../src/index.ts'
import { guarded } from './runaway.ts'

// uploadFile / downloadFile / deleteFile against the emulator's file columns, through the Node (undici) transport and
// the fetch transport: what Learn's "Use file column data" describes, end to end.
const MB = 1024 * 1024
let emulator: EmulatorHandle
let url: string

const bytes = (n: number, seed = 5) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed) & 0xff
  return out
}
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))
const noSleep = { now: () => Date.now(), sleep: async () => {} }

function client(extra: Partial<DataverseClientOptions> = {}, userObjectId?: string): DataverseClient {
  return guarded(
    createDataverseClient({
      url,
      ca: emulator.caCertPem,
      getToken: (resource) =>
        userObjectId
          ? emulator.world.mintUserAccessToken({ userObjectId, appId: defaultIds.multiTenantAppId, resource })
          : emulator.world.mintAppToken({
              tenantId: defaultIds.contosoTenantId,
              appId: defaultIds.multiTenantAppId,
              resource,
            }),
      clock: noSleep,
      ...extra,
    }),
    60_000,
  )
}

/** The fetch transport, over undici's fetch trusting the emulator; `intercept` may fail an exchange. */
function fetchClient(intercept?: (init: RequestInit, send: () => Promise<Response>) => Promise<Response>) {
  const send = (input: string | URL | Request, init: RequestInit = {}) =>
    undiciFetch(input as string, {
      ...(init as object),
      dispatcher: emulator.trust.agent,
    }) as unknown as Promise<Response>
  return client({
    fetch: ((input: string, init: RequestInit) =>
      intercept ? intercept(init, () => send(input, init)) : send(input, init)) as typeof fetch,
  })
}

beforeAll(async () => {
  const seed = defaultSeed()
  const contoso = seed.orgs?.find((o) => o.id === defaultIds.contosoOrgId)
  if (!contoso) throw new Error('no Contoso org in the default seed')
  contoso.dataverse = {
    tables: [
      {
        logicalName: 'new_document',
        entitySetName: 'new_documents',
        primaryName: 'new_name',
        columns: [
          { name: 'new_name', type: 'string' },
          { name: 'new_file', type: 'file', maxSizeInKB: 32 * 1024 },
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
      { applicationId: defaultIds.multiTenantAppId, roles: ['Dataverse S2S Connector', 'Documents'] },
    ],
  }
  emulator = await startEmulator({ port: 0, seed })
  url = emulator.orgs.find((o) => o.id === defaultIds.contosoOrgId)?.url as string
})

afterAll(async () => {
  await emulator?.stop()
})

describe('file columns on the emulator', () => {
  for (const [transport, make] of [
    ['undici', () => client()],
    ['fetch', () => fetchClient()],
  ] as const) {
    it(`round-trips a multi-chunk file through the ${transport} transport`, async () => {
      const c = make()
      const id = await c.create('new_documents', { new_name: transport })
      const data = bytes(9 * MB + 7)
      await c.uploadFile('new_documents', id, 'new_file', data, { fileName: 'big.pdf', chunked: true })
      const got = await c.downloadFile('new_documents', id, 'new_file')
      expect(got.fileName).toBe('big.pdf')
      expect(got.fileSize).toBe(9 * MB + 7)
      expect(got.mimeType).toBe('application/pdf')
      expect(same(got.data, data)).toBe(true)
      const row = await c.retrieve<{ new_file: string; new_file_name: string }>('new_documents', id, {
        select: ['new_file', 'new_file_name'],
      })
      expect(row.new_file).toMatch(/^[0-9a-f-]{36}$/)
      expect(row.new_file_name).toBe('big.pdf')
      // a small file goes in one request, and reads back whole
      await c.uploadFile('new_documents', id, 'new_file', new Blob([bytes(1000, 9)]), {
        fileName: 'small.txt',
      })
      const small = await c.downloadFile('new_documents', id, 'new_file', { chunked: false })
      expect(same(small.data, bytes(1000, 9))).toBe(true)
      expect(small.mimeType).toBe('text/plain')
      await c.deleteFile('new_documents', id, 'new_file')
      const gone = await c.downloadFile('new_documents', id, 'new_file').catch((e: unknown) => e)
      expect(isDataverseError(gone) && gone.code).toBe('NOT_FOUND')
    })
  }

  it('sends a chunk again after it failed on the way out, and the file arrives whole', async () => {
    let failed = 0
    const c = fetchClient(async (init, send) => {
      const range = new Headers(init.headers).get('content-range')
      if (range?.startsWith(`bytes ${4 * MB}-`) && failed++ === 0) throw new TypeError('fetch failed')
      return send()
    })
    const id = await c.create('new_documents', { new_name: 'retried' })
    const data = bytes(6 * MB, 3)
    await c.uploadFile('new_documents', id, 'new_file', data, { fileName: 'r.bin', chunked: true })
    expect(failed).toBe(2)
    expect(same((await c.downloadFile('new_documents', id, 'new_file')).data, data)).toBe(true)
  })

  it('a repeated chunk (its answer was lost) is refused, and no wrong file is stored', async () => {
    const c = fetchClient(async (init, send) => {
      const range = new Headers(init.headers).get('content-range')
      const response = await send()
      // the chunk reached the emulator, but its answer never comes back: the client sends it again
      if (range?.startsWith('bytes 0-') && response.status === 206) throw new TypeError('fetch failed')
      return response
    })
    const id = await c.create('new_documents', { new_name: 'lost answer' })
    const error = await c
      .uploadFile('new_documents', id, 'new_file', bytes(5 * MB), { fileName: 'x.bin', chunked: true })
      .catch((e: unknown) => e)
    expect(isDataverseError(error) && error.code).toBe('BAD_REQUEST')
    expect(isDataverseError(error) && error.message).toContain('send the chunks in order')
    const none = await client()
      .downloadFile('new_documents', id, 'new_file')
      .catch((e: unknown) => e)
    expect(isDataverseError(none) && none.code).toBe('NOT_FOUND')
  })

  it("refuses a file above the column's MaxSizeInKB before storing anything (0x80044a02)", async () => {
    const c = client()
    const id = await c.create('new_documents', { new_name: 'too big' })
    const error = await c
      .uploadFile('new_documents', id, 'new_file', bytes(32 * MB + 1), { fileName: 'big.bin', chunked: true })
      .catch((e: unknown) => e)
    expect(isDataverseError(error) && [error.code, error.serviceCode]).toEqual(['BAD_REQUEST', '0x80044a02'])
  })

  it("needs the table's privileges: a Basic User can neither upload nor download", async () => {
    const owner = client()
    const id = await owner.create('new_documents', { new_name: 'private' })
    await owner.uploadFile('new_documents', id, 'new_file', bytes(10), { fileName: 'p.txt' })
    const bob = client({}, defaultIds.users.contosoBob)
    const read = await bob.downloadFile('new_documents', id, 'new_file').catch((e: unknown) => e)
    expect(isDataverseError(read) && [read.code, read.serviceCode]).toEqual(['FORBIDDEN', '0x80040220'])
    const write = await bob
      .uploadFile('new_documents', id, 'new_file', bytes(10), { fileName: 'p.txt' })
      .catch((e: unknown) => e)
    expect(isDataverseError(write) && write.code).toBe('FORBIDDEN')
    expect(isDataverseError(write) && write.message).not.toMatch(/eyJ/)
  })

  it('refuses a missing file name before sending anything', async () => {
    const error = await client()
      .uploadFile('new_documents', defaultIds.contosoOrgId, 'new_file', bytes(1), { fileName: '' })
      .catch((e: unknown) => e)
    expect(isDataverseError(error) && error.code).toBe('INVALID_ARGUMENT')
  })
})
