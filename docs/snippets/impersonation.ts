import type { DataverseClient } from '@dataverse-s2s/webapi'

export async function asUser(client: DataverseClient, userObjectId: string) {
  // #region derived
  // userObjectId: the `oid` of the signed-in user's *verified* token, never a value the browser sent.
  const asAlice = client.as({ callerObjectId: userObjectId })

  const id = await asAlice.create('accounts', { name: 'Created by Alice through the app' })
  const row = await client.retrieve<{ _createdby_value: string; _createdonbehalfby_value: string }>(
    'accounts',
    id,
    {
      select: ['_createdby_value', '_createdonbehalfby_value'],
    },
  )
  // row._createdby_value        → Alice's systemuserid
  // row._createdonbehalfby_value → the application user's systemuserid
  // #endregion derived

  // #region per-request
  const page = await client.query('accounts', {
    select: ['name'],
    top: 5,
    impersonate: { callerObjectId: userObjectId },
  })
  // #endregion per-request
  return { id, row, page }
}
