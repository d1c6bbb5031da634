import { createDataverseClient, type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'

export async function findAccount(client: DataverseClient, id: string) {
  // #region handle
  try {
    return await client.retrieve('accounts', id, { select: ['name'] })
  } catch (error) {
    if (!isDataverseError(error)) throw error
    switch (error.code) {
      case 'NOT_FOUND':
        return undefined
      case 'FORBIDDEN':
        // error.serviceCode says which: 0x80072560 (no application user), 0x80040220 (missing privilege), …
        throw new Error(`The app may not read accounts in this org: ${error.message}`, { cause: error })
      case 'THROTTLED':
        // Only after the client's own retries ran out of budget.
        throw new Error(`Dataverse is busy, try again in ${Math.ceil((error.retryAfterMs ?? 0) / 1000)} s`, {
          cause: error,
        })
      default:
        // Log what helps support, never the token (the error holds none).
        console.error(error.code, error.status, error.serviceCode, error.requestId, error.method, error.path)
        throw error
    }
  }
  // #endregion handle
}

export function tunedClient(url: string) {
  // #region options
  const client = createDataverseClient({
    url,
    getToken: async () => 'token from your provider',
    timeoutMs: 30_000, // per attempt (default 120 s, Dataverse's own limit)
    retry: {
      maxAttempts: 6, // the first included (default 10)
      budgetMs: 60_000, // total time spent waiting and retrying (default 120 s)
      baseDelayMs: 250, // full-jitter exponential backoff for 502/503/504 and network errors
      maxDelayMs: 15_000,
      retryCreates: false, // a POST that timed out may have happened: do not repeat it (default)
    },
  })
  // #endregion options
  return client
}

export async function withDeadline(client: DataverseClient) {
  // #region abort
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 5_000)
  const page = await client.query('accounts', { select: ['name'], top: 10, signal: controller.signal })
  // #endregion abort
  return page
}
