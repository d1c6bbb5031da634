import { bind, type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'

export async function records(client: DataverseClient) {
  // #region records
  // Create: the id comes from the OData-EntityId header.
  const accountId = await client.create('accounts', { name: 'Fourth Coffee', revenue: 50000 })

  // Lookups are bound with @odata.bind; bind() formats (and validates) the reference.
  const contactId = await client.create('contacts', {
    lastname: 'Kim',
    'parentcustomerid_account@odata.bind': bind('accounts', accountId),
  })

  // Retrieve with $select and formatted values.
  const account = await client.retrieve<{ name: string; '@odata.etag': string }>('accounts', accountId, {
    select: ['name', 'revenue'],
    formattedValues: true,
  })

  // Optimistic concurrency: update only if nobody changed the row since we read it.
  await client.update('accounts', accountId, { revenue: 60000 }, { ifMatch: account['@odata.etag'] })
  try {
    await client.update('accounts', accountId, { revenue: 70000 }, { ifMatch: account['@odata.etag'] })
  } catch (error) {
    if (!isDataverseError(error) || error.code !== 'PRECONDITION_FAILED') throw error
    // Someone (here: we) changed it in between: re-read, merge, retry.
  }

  // Upsert by alternate key: creates the first time, updates afterwards (same row). Dataverse names such a row by its
  // key in the answer, so ask for the id (and whether it was created) with returnRepresentation.
  const { row: upserted, created } = await client.upsert<{ accountid: string }>(
    'accounts',
    { accountnumber: 'FC-0001' },
    { name: 'Fourth Coffee (HQ)' },
    { returnRepresentation: true, select: ['accountid'] },
  )

  await client.delete('contacts', contactId)
  await client.delete('accounts', accountId)
  // #endregion records
  return { accountId, upserted: upserted.accountid, created }
}
