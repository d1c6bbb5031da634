// The "before" side of the migration guide: the same operations written with dynamics-web-api.
import { DynamicsWebApi } from 'dynamics-web-api'

interface Account {
  accountid: string
  name: string
  address1_city: string | null
}

type Data = Record<string, unknown>

export function connect(serverUrl: string, acquireToken: () => Promise<string>): DynamicsWebApi {
  // #region construct
  // acquireToken is yours to write, cache included (typically msal-node's acquireTokenByClientCredential):
  // DynamicsWebApi calls it before every request.
  const dynamicsWebApi = new DynamicsWebApi({
    serverUrl,
    dataApi: { version: '9.2' },
    onTokenRefresh: acquireToken,
  })
  // #endregion construct
  return dynamicsWebApi
}

export async function records(dynamicsWebApi: DynamicsWebApi, accountNumber: string) {
  // #region records
  const accountId = await dynamicsWebApi.create<Data, string>({
    collection: 'accounts',
    data: { name: 'Fourth Coffee', address1_city: 'Seattle' },
  })
  const account = await dynamicsWebApi.retrieve<Account>({
    collection: 'accounts',
    key: accountId,
    select: ['name', 'address1_city'],
  })
  await dynamicsWebApi.update({ collection: 'accounts', key: accountId, data: { telephone1: '555-0100' } })

  // An alternate key is OData key text: quoting and escaping are up to you.
  // Dataverse names a row upserted by key by that key, not its id: ask for the id back.
  const upserted = await dynamicsWebApi.upsert<Data, { accountid: string }>({
    collection: 'accounts',
    key: `accountnumber='${accountNumber.replaceAll("'", "''")}'`,
    data: { name: 'Litware, Inc.' },
    returnRepresentation: true,
    select: ['accountid'],
  })
  const upsertedId = upserted.accountid

  await dynamicsWebApi.deleteRecord({ collection: 'accounts', key: accountId })
  // #endregion records
  return { accountId, account, upsertedId }
}

export async function everyAccount(
  dynamicsWebApi: DynamicsWebApi,
  city: string,
  handle: (account: Account) => void,
) {
  // #region query-all
  // The filter is a string: escaping the value is up to you.
  const filter = `address1_city eq '${city.replaceAll("'", "''")}'`

  // retrieveAll follows every nextLink and resolves once all rows are in memory.
  const all = await dynamicsWebApi.retrieveAll<Account>({
    collection: 'accounts',
    select: ['name'],
    filter,
    orderBy: ['name'],
    maxPageSize: 100,
  })
  for (const account of all.value) handle(account)

  const total = await dynamicsWebApi.count({ collection: 'accounts', filter })
  // #endregion query-all
  return total
}

export async function fetchAccounts(dynamicsWebApi: DynamicsWebApi, handle: (account: Account) => void) {
  // #region fetchxml
  const fetchXml = `<fetch count="100">
    <entity name="account">
      <attribute name="name" />
      <order attribute="name" />
      <filter><condition attribute="address1_city" operator="eq" value="Springfield" /></filter>
    </entity>
  </fetch>`
  // fetchAll follows the paging cookie and resolves once all rows are in memory.
  const all = await dynamicsWebApi.fetchAll<Account>({ collection: 'accounts', fetchXml })
  for (const account of all.value) handle(account)
  // #endregion fetchxml
}

export async function link(dynamicsWebApi: DynamicsWebApi, accountId: string, contactId: string) {
  // #region associate
  await dynamicsWebApi.associate({
    collection: 'accounts',
    primaryKey: accountId,
    relationshipName: 'contact_customer_accounts',
    relatedCollection: 'contacts',
    relatedKey: contactId,
  })
  // #endregion associate
}

export async function unlink(dynamicsWebApi: DynamicsWebApi, accountId: string, contactId: string) {
  // #region disassociate
  await dynamicsWebApi.disassociate({
    collection: 'accounts',
    primaryKey: accountId,
    relationshipName: 'contact_customer_accounts',
    relatedKey: contactId,
  })
  // #endregion disassociate
}

export async function functions(dynamicsWebApi: DynamicsWebApi) {
  // #region functions
  const me = await dynamicsWebApi.callFunction<{ UserId: string }>('WhoAmI')
  const counts = await dynamicsWebApi.callFunction<{ EntityRecordCountCollection: unknown }>({
    name: 'RetrieveTotalRecordCount',
    parameters: { EntityNames: ['account'] },
  })
  // #endregion functions
  return { userId: me.UserId, counts }
}

export async function batch(dynamicsWebApi: DynamicsWebApi) {
  // #region batch
  // Batch mode is a flag on the instance: until executeBatch(), calls on dynamicsWebApi are queued, not sent.
  dynamicsWebApi.startBatch()
  dynamicsWebApi.create({ collection: 'accounts', data: { name: 'Coho Winery' }, contentId: '1' })
  dynamicsWebApi.create({
    collection: 'contacts',
    data: { firstname: 'Ana', lastname: 'Trujillo', 'parentcustomerid_account@odata.bind': '$1' },
  })
  // Resolves to one value per operation; rejects with an array of errors if one fails.
  const [accountId, contactId] = (await dynamicsWebApi.executeBatch()) as string[]
  // #endregion batch
  return { accountId, contactId }
}

export async function impersonated(dynamicsWebApi: DynamicsWebApi, userObjectId: string) {
  // #region impersonate
  const accountId = await dynamicsWebApi.create<Data, string>({
    collection: 'accounts',
    data: { name: 'Created on behalf of a user' },
    impersonateAAD: userObjectId, // CallerObjectId; `impersonate` takes a systemuserid (MSCRMCallerID)
  })
  // #endregion impersonate
  return accountId
}

export async function findAccount(dynamicsWebApi: DynamicsWebApi, accountId: string) {
  // #region errors
  try {
    return await dynamicsWebApi.retrieve<Account>({
      collection: 'accounts',
      key: accountId,
      select: ['name'],
    })
  } catch (error) {
    // An Error with the fields of Dataverse's error copied onto it: code is Dataverse's hex code.
    const { status, code } = error as { status?: number; code?: string }
    if (status === 404 && code === '0x80040217') return undefined
    throw error
  }
  // #endregion errors
}

export async function firstAccounts(dynamicsWebApi: DynamicsWebApi) {
  // #region throttling
  // 429s are left to you: retry after the Retry-After header, and keep other requests from piling on.
  const withRetry = async <T>(call: () => Promise<T>, attempts = 5): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call()
      } catch (error) {
        const { status, headers } = error as { status?: number; headers?: Record<string, string> }
        if (status !== 429 || attempt >= attempts) throw error
        const seconds = Number(headers?.['retry-after'] ?? 1)
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
      }
    }
  }
  const page = await withRetry(() =>
    dynamicsWebApi.retrieveMultiple<Account>({
      collection: 'accounts',
      select: ['name'],
      orderBy: ['name'],
      top: 5,
    }),
  )
  // #endregion throttling
  return page.value
}
