import { type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'

/** Where the app keeps its copy of the rows and the change token (a database in a real app). */
export interface SyncStore {
  put(id: string, row: { name: string | null }): Promise<void>
  remove(id: string): Promise<void>
  clear(): Promise<void>
  loadToken(): Promise<string | undefined>
  saveToken(token: string | undefined): Promise<void>
}

// #region sync
export async function syncAccounts(client: DataverseClient, store: SyncStore) {
  const token = await store.loadToken() // undefined the first time: a full sync
  if (token === undefined) await store.clear()
  for await (const page of client.changes<{ accountid: string; name: string | null }>('accounts', {
    token,
    select: ['name'],
    maxPageSize: 500,
  })) {
    for (const change of page.changes) {
      if (change.kind === 'delete') await store.remove(change.id)
      else await store.put(change.row.accountid, { name: change.row.name })
    }
    // only the last page carries a token: save it once everything before it is applied
    if (page.token) await store.saveToken(page.token)
  }
}
// #endregion sync

// #region expired
export async function syncAccountsOrResync(client: DataverseClient, store: SyncStore) {
  try {
    await syncAccounts(client, store)
  } catch (e) {
    if (!isDataverseError(e) || e.code !== 'CHANGE_TOKEN_EXPIRED') throw e
    await store.saveToken(undefined) // the token is too old: read the whole table again
    await syncAccounts(client, store)
  }
}
// #endregion expired
