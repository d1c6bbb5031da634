import type { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, defaultSeed } from '../index.ts'
import { startWithDynamicsWebApi } from './dynamics-web-api-support.ts'

// Fidelity: dynamics-web-api's uploadFile (chunked: x-ms-transfer-mode, then Content-Range chunks to Location) and
// downloadFile (4 MB Range requests for the column's base64 value) work unchanged against the emulator's file columns.
const ids = defaultIds
const MB = 1024 * 1024
let client: DynamicsWebApi
let stop: (() => Promise<void>) | undefined

const bytes = (n: number) => {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = (i * 17 + 3) & 0xff
  return out
}

beforeAll(async () => {
  const seed = defaultSeed()
  const contoso = seed.orgs?.find((o) => o.id === ids.contosoOrgId)
  if (!contoso) throw new Error('no Contoso org')
  contoso.dataverse = {
    tables: [
      {
        logicalName: 'new_document',
        entitySetName: 'new_documents',
        primaryName: 'new_name',
        columns: [
          { name: 'new_name', type: 'string' },
          { name: 'new_file', type: 'file', maxSizeInKB: 4 * 1024 + 100 },
        ],
      },
    ],
    roles: [
      {
        name: 'Documents',
        privileges: ['prvReadnew_document', 'prvCreatenew_document', 'prvWritenew_document'],
      },
    ],
    systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['Dataverse S2S Connector', 'Documents'] }],
  }
  ;({ client, stop } = await startWithDynamicsWebApi({ seed }))
})

afterAll(async () => {
  await stop?.()
})

describe('dynamics-web-api file columns against the emulator', () => {
  it('uploads a file in chunks with uploadFile and reads it back with downloadFile', async () => {
    const id = await client.create<Record<string, unknown>, string>({
      collection: 'new_documents',
      data: { new_name: 'DWA file' },
    })
    const data = bytes(4 * MB + 1234)
    await client.uploadFile({
      collection: 'new_documents',
      key: id,
      fieldName: 'new_file',
      fileName: 'dwa.pdf',
      data,
    })
    const got = await client.downloadFile({ collection: 'new_documents', key: id, fieldName: 'new_file' })
    expect(got.fileName).toBe('dwa.pdf')
    expect(got.fileSize).toBe(4 * MB + 1234)
    expect(Buffer.from(got.data as Buffer).equals(data)).toBe(true)
    const row = await client.retrieve<{ new_file_name: string; new_file: string }>({
      collection: 'new_documents',
      key: id,
      select: ['new_file', 'new_file_name'],
    })
    expect(row.new_file_name).toBe('dwa.pdf')
    expect(row.new_file).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("gets Dataverse's 0x80044a02 for a file above the column's MaxSizeInKB", async () => {
    const id = await client.create<Record<string, unknown>, string>({
      collection: 'new_documents',
      data: { new_name: 'too big' },
    })
    const error = await client
      .uploadFile({
        collection: 'new_documents',
        key: id,
        fieldName: 'new_file',
        fileName: 'big.bin',
        data: bytes(5 * MB),
      })
      .catch((e: unknown) => e)
    expect((error as { code?: string }).code).toBe('0x80044a02')
  })
})
