import { createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'

export function limitedClient(url: string, getToken: () => Promise<string>, ca: string): DataverseClient {
  // #region concurrency
  const client = createDataverseClient({
    url,
    getToken,
    ca,
    // Adaptive by default: starts at 8, follows x-ms-dop-hint, halves on 429, ramps up while healthy, max 52.
    concurrency: { initial: 8, max: 32 },
  })
  // #endregion concurrency
  return client
}

export async function bulkUpsert(client: DataverseClient, count: number) {
  // #region bulk
  // Fire everything at once: the client's limiter decides how many run at a time, 429s pause the whole client
  // for Retry-After, and upserts by alternate key are safe to retry, so no row is lost or duplicated.
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      client.upsert('accounts', { accountnumber: `BULK-${i}` }, { name: `Bulk account ${i}` }),
    ),
  )
  // #endregion bulk
}
