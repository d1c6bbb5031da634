import { defaultIds, defaultSeed, startEmulator } from '@dataverse-s2s/emulator'
import type { DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientFor } from '../snippets/client.ts'
import { tooLargeOrMissing, uploadAndDownload } from '../snippets/files.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

const MB = 1024 * 1024
let setup: Setup
let client: DataverseClient
beforeAll(async () => {
  const seed = defaultSeed()
  const contoso = seed.orgs?.find((o) => o.id === defaultIds.contosoOrgId)
  if (!contoso) throw new Error('no Contoso org in the default seed')
  // a table with a file column (Maximum file size 8 MB), and an app user allowed to use it
  contoso.dataverse = {
    tables: [
      {
        logicalName: 'new_document',
        entitySetName: 'new_documents',
        primaryName: 'new_name',
        columns: [
          { name: 'new_name', type: 'string' },
          { name: 'new_file', type: 'file', maxSizeInKB: 8 * 1024 },
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
  setup = setupFrom(await startEmulator({ port: 0, seed }))
  client = clientFor(setup, setup.contoso)
})
afterAll(async () => {
  await setup?.emulator.stop()
})

describe('files guide', () => {
  it('uploads a file, reads its name from the row and downloads it in 4 MB ranges', async () => {
    const id = await client.create('new_documents', { new_name: 'Contract' })
    const pdf = new Uint8Array(5 * MB).map((_, i) => i % 251)
    const { row, file } = await uploadAndDownload(client, id, pdf)
    expect(row.new_file_name).toBe('contract.pdf')
    expect(row.new_file).toMatch(/^[0-9a-f-]{36}$/)
    expect([file.fileName, file.fileSize, file.mimeType]).toEqual(['contract.pdf', 5 * MB, 'application/pdf'])
    expect(Buffer.from(file.data).equals(Buffer.from(pdf))).toBe(true)
  })

  it('tells a file above Maximum file size from a row without a file', async () => {
    const id = await client.create('new_documents', { new_name: 'Errors' })
    expect(await tooLargeOrMissing(client, id, new Uint8Array(8 * MB + 1))).toBe('too large')
    expect(await tooLargeOrMissing(client, id, new Uint8Array(10))).toBe('no file')
  })
})
