import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node'
import type { HttpOptions } from '../http-options.ts'
import { send } from './http.ts'

/**
 * MSAL's transport on node:https, so an extra CA (the emulator's) can be trusted per provider without touching
 * NODE_EXTRA_CA_CERTS, with a time limit on every request. It never logs: bodies carry secrets and assertions.
 */
export function createMsalNetworkModule(http: HttpOptions): INetworkModule & {
  /** The transport error of a failed request, by MSAL correlation id (MSAL replaces it by a bare network_error). */
  takeError(correlationId: string | undefined): Error | undefined
} {
  const failures = new Map<string, Error>()
  const call = async <T>(
    method: 'GET' | 'POST',
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ) => {
    let res: Awaited<ReturnType<typeof send>>
    try {
      res = await send(
        url,
        {
          method,
          ...(options?.headers ? { headers: options.headers } : {}),
          ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
        },
        { ...http, timeoutMs: timeout ?? http.timeoutMs ?? 10_000 },
      )
    } catch (error) {
      // MSAL replaces any transport error by a bare network_error with the same correlation id: keep ours
      if (options?.correlationId) {
        if (failures.size >= 1000) failures.clear()
        failures.set(options.correlationId, error as Error)
      }
      throw error
    }
    let body: unknown
    try {
      body = res.text ? JSON.parse(res.text) : {}
    } catch {
      // MSAL expects JSON; a non-JSON answer (a proxy's HTML page) becomes an error object MSAL can report
      body = { error: 'invalid_response', error_description: `HTTP ${res.status} with a non-JSON body` }
    }
    return { headers: res.headers, body: body as T, status: res.status } satisfies NetworkResponse<T>
  }
  return {
    takeError(correlationId) {
      if (!correlationId) return undefined
      const e = failures.get(correlationId)
      failures.delete(correlationId)
      return e
    },
    sendGetRequestAsync: (url, options, timeout) => call('GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => call('POST', url, options),
  }
}
