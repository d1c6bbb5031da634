import type { DataverseClient } from '@dataverse-s2s/webapi'

export async function atomic(client: DataverseClient) {
  // #region change-set
  const batch = client.batch()
  batch.changeSet((changes) => {
    // Content-ID references: the contact links to the account created just before, in the same transaction.
    const account = changes.create('accounts', { name: 'Coho Winery' })
    changes.create('contacts', {
      firstname: 'Ana',
      lastname: 'Trujillo',
      'parentcustomerid_account@odata.bind': account.ref, // "$1"
    })
  })
  batch.query('accounts', { select: ['name'], top: 1 }) // reads go outside change sets

  const results = await batch.execute()
  for (const result of results) {
    if (result.ok) console.log(result.index, result.status, result.id ?? '')
    else console.log(result.index, result.error.code, result.error.message)
  }
  // #endregion change-set
  return results
}

export async function rolledBack(client: DataverseClient, missingAccountId: string) {
  // #region rollback
  const batch = client.batch({ continueOnError: true })
  batch.changeSet((changes) => {
    changes.create('accounts', { name: 'Tailspin Toys' })
    // This one fails (the account does not exist), so the create above is rolled back too.
    changes.update('accounts', missingAccountId, { name: 'nobody' })
  })
  batch.create('accounts', { name: 'Wingtip Toys' }) // outside the change set: runs anyway

  const [created, failed, independent] = await batch.execute()
  // created:     { ok: false, error.code: 'BATCH_ROLLED_BACK' }
  // failed:      { ok: false, error.code: 'NOT_FOUND', error.status: 404 }
  // independent: { ok: true, status: 204, id: '…' }
  // #endregion rollback
  return { created, failed, independent }
}

export async function singleProperties(client: DataverseClient, accountId: string) {
  // #region properties
  const batch = client.batch()
  // PUT accounts(<id>)/name with {"value": …}, and DELETE accounts(<id>)/description
  batch.setProperty('accounts', accountId, 'name', 'Fabrikam (renamed)')
  batch.clearProperty('accounts', accountId, 'description')
  batch.changeSet((changes) => {
    // In a change set, the key may be the Content-ID of a row created just before ($1).
    const account = changes.create('accounts', { name: 'Fabrikam Labs', description: 'draft' })
    changes.setProperty('accounts', account.ref, 'telephone1', '555-0111')
    changes.clearProperty('accounts', account.ref, 'description')
  })
  const results = await batch.execute() // five results, each 204 No Content
  // #endregion properties
  return results
}
