import type { DataverseClient } from '@dataverse-s2s/webapi'

const sensorData = { entitySet: 'contoso_sensordatas', logicalName: 'contoso_sensordata' }

export async function readYourWrite(client: DataverseClient, deviceId: string) {
  // #region session-token
  const id = await client.create('contoso_sensordatas', {
    contoso_sensortype: 'Humidity',
    contoso_value: 40,
    partitionid: deviceId,
  })
  // The write answered an x-ms-session-token; sending it back makes the read see the write.
  const row = await client.retrieve<{ contoso_value: number }>('contoso_sensordatas', id, {
    select: ['contoso_value'],
    partitionId: deviceId,
    sessionToken: client.sessionToken(),
  })
  // #endregion session-token
  return { id, row }
}

export async function deleteReadings(client: DataverseClient, ids: string[], deviceId: string) {
  // #region delete-multiple
  // Each row names one record: its primary key and, on a partitioned table, its partitionid.
  const deleted = await client.deleteMultiple(
    sensorData,
    ids.map((id) => ({ contoso_sensordataid: id, partitionid: deviceId })),
  )
  // #endregion delete-multiple
  return deleted
}
