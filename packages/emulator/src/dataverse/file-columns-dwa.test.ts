import type * as HttpsModule from 'node:https'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { ConfidentialClientApplication } from '@azure/msal-node'
import { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, defaultSeed, type EmulatorHandle, startEmulator } from '../index.ts'

// Fidelity: dynamics-web-api's uploadFile (chunked: x-ms-transfer-mode, then Content-Range chunks to Location) and
// downloadFile (4 MB Range requests for the column's base64 value) work unchanged against the emulator's file columns.
const ids = defaultIds
const MB = 1024 * 1024
let emulator: EmulatorHandle
let client: DynamicsWebApi
const https = createRequire(import.meta.url)('node:https') as typeof HttpsModule
const OriginalAgent = https.Agent

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
  emulator = await startEmulator({ port: 0, seed })
  // dynamics-web-api makes its own https.Agent; trusting the emulator's CA there is the Node configuration it needs
  const ca = emulator.caCertPem
  ;(https as { Agent: typeof HttpsModule.Agent }).Agent = class extends OriginalAgent {
    constructor(options?: HttpsModule.AgentOptions) {
      super({ ...options, ca })
    }
  }
  syncBuiltinESMExports()
  const org = emulator.orgs.find((o) => o.id === ids.contosoOrgId)
  if (!org) throw new Error('no Contoso org')
  const restore = emulator.trust.installGlobally()
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: ids.multiTenantAppId,
      clientSecret: ids.multiTenantAppSecret,
      ...emulator.msalAuth(ids.contosoTenantId),
    },
  })
  client = new DynamicsWebApi({
    serverUrl: org.url,
    dataApi: { version: '9.2' },
    onTokenRefresh: async () => {
      const token = (await cca.acquireTokenByClientCredential({ scopes: [`${org.url}/.default`] }))
        ?.accessToken
      return token ?? null
    },
  })
  restoreTrust = restore
})

let restoreTrust: (() => void) | undefined
afterAll(async () => {
  ;(https as { Agent: typeof HttpsModule.Agent }).Agent = OriginalAgent
  syncBuiltinESMExports()
  restoreTrust?.()
  await emulator?.stop()
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
