import { bind, type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'

export async function records(client: DataverseClient) {
  // #region create
  const accountId = await client.create('accounts', { name: 'Fourth Coffee', address1_city: 'Seattle' })

  // A lookup is set with @odata.bind; bind() writes the `/accounts(<id>)` path for you.
  const contact = await client.create<{ contactid: string; fullname: string }>(
    'contacts',
    {
      firstname: 'Rene',
      lastname: 'Valdes',
      'parentcustomerid_account@odata.bind': bind('accounts', accountId),
    },
    { returnRepresentation: true, select: ['contactid', 'fullname'] },
  )
  // #endregion create

  // #region retrieve
  const account = await client.retrieve<{ name: string; '@odata.etag': string }>('accounts', accountId, {
    select: ['name', 'address1_city'],
    expand: [{ property: 'contact_customer_accounts', select: ['fullname'] }],
  })
  // #endregion retrieve

  // #region update
  // Optimistic concurrency: the update succeeds only if nobody changed the row since we read it.
  await client.update('accounts', accountId, { telephone1: '555-0100' }, { ifMatch: account['@odata.etag'] })

  try {
    // The etag is stale now: Dataverse answers 412 and nothing is written.
    await client.update(
      'accounts',
      accountId,
      { telephone1: '555-0199' },
      { ifMatch: account['@odata.etag'] },
    )
  } catch (error) {
    if (!isDataverseError(error) || error.code !== 'PRECONDITION_FAILED') throw error
    // Read the row again, reapply the change, try again.
  }
  // #endregion update

  // #region upsert
  // An alternate key makes writes idempotent: run this twice and there is still one row.
  const key = { accountnumber: 'LTW-0001' }
  await client.upsert('accounts', key, { name: 'Litware, Inc.' })
  // With returnRepresentation you get the row back, and whether this upsert created it (201) or updated it (200).
  const { created, row } = await client.upsert<{ accountid: string }>(
    'accounts',
    key,
    { name: 'Litware, Inc.', address1_city: 'Redmond' },
    { returnRepresentation: true, select: ['accountid'] },
  )
  // created === false: the first upsert made the row, this one updated it

  // createOnly refuses to overwrite (412), updateOnly refuses to create (404).
  await client.upsert(
    'accounts',
    { accountnumber: 'LTW-0002' },
    { name: 'Litware Labs' },
    { mode: 'createOnly' },
  )
  // #endregion upsert

  // #region delete
  await client.delete('contacts', contact.contactid)
  await client.delete('accounts', accountId)
  // #endregion delete

  return { accountId, contact, account, created, upsertedId: row.accountid }
}

export async function createReturned(client: DataverseClient, contactId: string) {
  // #region create-returned
  // One request creates the account and returns it: the name, and the bound primary contact's full name.
  const account = await client.create<{
    accountid: string
    name: string
    primarycontactid: { contactid: string; fullname: string } | null
  }>(
    'accounts',
    { name: 'Coho Vineyard', 'primarycontactid@odata.bind': bind('contacts', contactId) },
    {
      returnRepresentation: true,
      select: ['name'],
      expand: [{ property: 'primarycontactid', select: ['fullname'] }],
    },
  )
  // account.primarycontactid?.fullname === 'Rene Valdes'

  // An update returns the row with `select` too, but takes no `expand`: Dataverse ignores it there.
  const renamed = await client.update<{ name: string }>(
    'accounts',
    account.accountid,
    { name: 'Coho Vineyard & Winery' },
    { returnRepresentation: true, select: ['name'] },
  )
  // #endregion create-returned
  return { account, renamed }
}
