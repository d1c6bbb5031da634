// The "after" side of the migration guide: the same operations as dynamics-web-api.ts, with @dataverse-s2s/webapi.
import { type DataverseClient, isDataverseError, odata } from '@dataverse-s2s/webapi'

interface Account {
  accountid: string
  name: string
  address1_city: string | null
}

export async function records(client: DataverseClient, accountNumber: string) {
  // #region records
  const accountId = await client.create('accounts', { name: 'Fourth Coffee', address1_city: 'Seattle' })
  const account = await client.retrieve<Account>('accounts', accountId, { select: ['name', 'address1_city'] })
  await client.update('accounts', accountId, { telephone1: '555-0100' })

  // An alternate key is an object: its values are escaped for you. Dataverse names a row upserted by key by that
  // key, not its id: ask for the id back (`created` says whether the upsert made the row).
  const { row: upserted } = await client.upsert<{ accountid: string }>(
    'accounts',
    { accountnumber: accountNumber },
    { name: 'Litware, Inc.' },
    { returnRepresentation: true, select: ['accountid'] },
  )
  const upsertedId = upserted.accountid

  await client.delete('accounts', accountId)
  // #endregion records
  return { accountId, account, upsertedId }
}

export async function everyAccount(
  client: DataverseClient,
  city: string,
  handle: (account: Account) => void,
) {
  // #region query-all
  // odata`` writes every interpolated value as an escaped OData literal.
  const filter = odata`address1_city eq ${city}`

  // queryAll yields rows while it follows nextLink, with one page in memory at a time.
  for await (const account of client.queryAll<Account>('accounts', {
    select: ['name'],
    filter,
    orderBy: 'name',
    maxPageSize: 100,
  }))
    handle(account)

  const total = await client.count('accounts', { filter })
  // #endregion query-all
  return total
}

export async function fetchAccounts(client: DataverseClient, handle: (account: Account) => void) {
  // #region fetchxml
  const fetchXml = `<fetch count="100">
    <entity name="account">
      <attribute name="name" />
      <order attribute="name" />
      <filter><condition attribute="address1_city" operator="eq" value="Springfield" /></filter>
    </entity>
  </fetch>`
  // fetchXml yields rows while it follows the paging cookie, one page in memory at a time.
  for await (const account of client.fetchXml<Account>('accounts', fetchXml)) handle(account)
  // #endregion fetchxml
}

export async function link(client: DataverseClient, accountId: string, contactId: string) {
  // #region associate
  await client.associate('accounts', accountId, 'contact_customer_accounts', {
    entitySet: 'contacts',
    key: contactId,
  })
  // #endregion associate
}

export async function unlink(client: DataverseClient, accountId: string, contactId: string) {
  // #region disassociate
  await client.disassociate('accounts', accountId, 'contact_customer_accounts', {
    entitySet: 'contacts',
    key: contactId,
  })
  // #endregion disassociate
}

export async function functions(client: DataverseClient) {
  // #region functions
  const me = await client.whoAmI() // { userId, businessUnitId, organizationId }
  const counts = await client.callFunction<{ EntityRecordCountCollection: unknown }>(
    'RetrieveTotalRecordCount',
    {
      EntityNames: ['account'],
    },
  )
  // #endregion functions
  return { userId: me.userId, counts }
}

export async function batch(client: DataverseClient) {
  // #region batch
  // A batch is an object of its own: other calls on client are sent as usual meanwhile.
  const batch = client.batch()
  batch.changeSet((changes) => {
    const account = changes.create('accounts', { name: 'Coho Winery' })
    changes.create('contacts', {
      firstname: 'Ana',
      lastname: 'Trujillo',
      'parentcustomerid_account@odata.bind': account.ref, // "$1"
    })
  })
  // One result per operation, { ok: true, id, … } or { ok: false, error }; never an array thrown.
  const [account, contact] = await batch.execute()
  const accountId = account?.ok ? account.id : undefined
  const contactId = contact?.ok ? contact.id : undefined
  // #endregion batch
  return { accountId, contactId }
}

export async function impersonated(client: DataverseClient, userObjectId: string) {
  // #region impersonate
  const accountId = await client.create(
    'accounts',
    { name: 'Created on behalf of a user' },
    { impersonate: { callerObjectId: userObjectId } }, // or { systemUserId } for MSCRMCallerID
  )
  // Or a derived client that impersonates on every call: client.as({ callerObjectId: userObjectId })
  // #endregion impersonate
  return accountId
}

export async function findAccount(client: DataverseClient, accountId: string) {
  // #region errors
  try {
    return await client.retrieve<Account>('accounts', accountId, { select: ['name'] })
  } catch (error) {
    // A DataverseError: code is a closed union, Dataverse's hex code is serviceCode.
    if (isDataverseError(error) && error.code === 'NOT_FOUND') return undefined
    throw error
  }
  // #endregion errors
}

export async function firstAccounts(client: DataverseClient) {
  // #region throttling
  // 429s are retried after Retry-After, and the client pauses every request to the org meanwhile.
  const page = await client.query<Account>('accounts', { select: ['name'], orderBy: 'name', top: 5 })
  // #endregion throttling
  return page.value
}
