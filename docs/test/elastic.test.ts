import { defaultIds, defaultSeed, startEmulator } from '@dataverse-s2s/emulator'
import type { DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientFor } from '../snippets/client.ts'
import { deleteReadings, readYourWrite } from '../snippets/elastic.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

let setup: Setup
let client: DataverseClient
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
  setup = setupFrom(await startEmulator({ port: 0, seed }))
  client = clientFor(setup, setup.contoso)
})
afterAll(async () => {
  await setup?.emulator.stop()
})

describe('elastic table snippets', () => {
  it('reads its own write with the session token, then deletes the rows with DeleteMultiple', async () => {
    const first = await readYourWrite(client, 'deviceid-001')
    expect(first.row.contoso_value).toBe(40)
    const second = await readYourWrite(client, 'deviceid-001')
    expect(await deleteReadings(client, [first.id, second.id], 'deviceid-001')).toBe(2)
    const left = await client.query('contoso_sensordatas', { select: ['contoso_sensortype'] })
    expect(left.value).toEqual([])
  })
})
