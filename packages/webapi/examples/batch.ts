import type { DataverseClient } from '@dataverse-s2s/webapi'

export async function batch(client: DataverseClient) {
  // #region batch
  const b = client.batch({ continueOnError: true })
  // A change set is atomic; later operations reference earlier ones by Content-ID ($1).
  b.changeSet((cs) => {
    const account = cs.create('accounts', { name: 'Batch Co' })
    cs.create('contacts', { lastname: 'Batch', 'parentcustomerid_account@odata.bind': account.ref })
  })
  b.query('accounts', { select: ['name'], top: 1 })
  // One result per operation, in order; failures are values (a typed DataverseError), never a thrown array.
  const results = await b.execute()
  for (const r of results) {
    if (!r.ok) console.warn(`operation ${r.index} failed: ${r.error.code} ${r.error.message}`)
  }
  // #endregion batch
  return results
}
