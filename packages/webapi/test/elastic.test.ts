import { defaultIds, defaultSeed, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDataverseClient, type DataverseClient, type SessionTokenSource } from '../src/index.ts'
import { guarded } from './runaway.ts'

// An elastic table in the emulator: session tokens from writes sent back on reads, and DeleteMultiple.

let emulator: EmulatorHandle
let client: DataverseClient
const seen: { token: string; request: SessionTokenSource }[] = []
const sensorData = { entitySet: 'contoso_sensordatas', logicalName: 'contoso_sensordata' }

beforeAll(async () => {
  const seed = defaultSeed()
  const contoso = seed.orgs?.find((o) => o.id === defaultIds.contosoOrgId)
  if (!contoso) throw new Error('no Contoso org in the default seed')
  contoso.dataverse = {
    tables: [
      {
        logicalName: 'contoso_sensordata',
        entitySetName: 'contoso_sensordatas',
        primaryName: 'contoso_sensortype',
        tableType: 'Elastic',
        columns: [
          { name: 'contoso_sensortype', type: 'string' },
          { name: 'contoso_value', type: 'integer' },
        ],
      },
    ],
    systemUsers: [{ applicationId: defaultIds.multiTenantAppId, roles: ['System Administrator'] }],
  }
  emulator = await startEmulator({ port: 0, seed })
  const url = emulator.orgs.find((o) => o.id === defaultIds.contosoOrgId)?.url as string
  client = guarded(
    createDataverseClient({
      url,
      ca: emulator.caCertPem,
      getToken: (resource) =>
        emulator.world.mintAppToken({
          tenantId: defaultIds.contosoTenantId,
          appId: defaultIds.multiTenantAppId,
          resource,
        }),
      onSessionToken: (t, request) => seen.push({ token: t, request }),
    }),
  )
})

afterAll(async () => {
  await emulator?.stop()
})

describe('elastic tables against the emulator', () => {
  it('keeps the session token of each write and sends it back on a read', async () => {
    const id = await client.create('contoso_sensordatas', {
      contoso_sensortype: 'Humidity',
      contoso_value: 40,
      partitionid: 'deviceid-001',
    })
    const afterCreate = client.sessionToken()
    expect(afterCreate).toMatch(/^\S+$/)
    await client.update('contoso_sensordatas', id, { contoso_value: 60 })
    expect(seen.map((s) => s.request)).toEqual([
      { method: 'POST', path: 'contoso_sensordatas' },
      { method: 'PATCH', path: `contoso_sensordatas(${id})` },
    ])
    const row = await client.retrieve<{ contoso_value: number }>('contoso_sensordatas', id, {
      select: ['contoso_value'],
      partitionId: 'deviceid-001',
      sessionToken: client.sessionToken(),
    })
    expect(row.contoso_value).toBe(60)
  })

  it('deleteMultiple removes the rows named by id and partitionid', async () => {
    const ids = await client.createMultiple(
      sensorData,
      Array.from({ length: 5 }, (_, i) => ({ contoso_sensortype: `t-${i}`, partitionid: 'deviceid-002' })),
    )
    const deleted = await client.deleteMultiple(
      sensorData,
      ids.slice(0, 4).map((id) => ({ contoso_sensordataid: id, partitionid: 'deviceid-002' })),
      { chunkSize: 3 },
    )
    expect(deleted).toBe(4)
    const left = await client.query<{ contoso_sensordataid: string }>('contoso_sensordatas', {
      select: ['contoso_sensordataid'],
      filter: `partitionid eq 'deviceid-002'`,
    })
    expect(left.value.map((r) => r.contoso_sensordataid)).toEqual([ids[4]])
  })

  it('deleteMultiple on a standard table reports the chunk as failed, as Dataverse refuses it', async () => {
    const error = await client
      .deleteMultiple({ entitySet: 'accounts', logicalName: 'account' }, [
        { accountid: '00000000-0000-0000-0000-000000000001' },
      ])
      .catch((e: unknown) => e as { code: string; bulk?: { failed: unknown[] } })
    expect(error).toMatchObject({ code: 'BULK_INCOMPLETE' })
    expect((error as { bulk: { failed: unknown[] } }).bulk.failed).toHaveLength(1)
  })
})
