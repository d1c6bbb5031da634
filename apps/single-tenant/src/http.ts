import { rootCertificates } from 'node:tls'
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node'
import { Agent, fetch as undiciFetch } from 'undici'

/**
 * A `fetch` that also trusts `caPem` (the emulator's CA, or a corporate TLS-inspection CA) on top of Node's
 * built-in roots. Without `caPem` it is the global `fetch`.
 */
export function createFetch(caPem?: string): typeof fetch {
  if (!caPem) return globalThis.fetch
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, caPem] } })
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch
}

/** MSAL's network module over a `fetch`, so MSAL trusts the same CAs as the rest of the app. */
export function createMsalNetwork(fetcher: typeof fetch, timeoutMs = 15_000): INetworkModule {
  const send = async <T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions) => {
    const response = await fetcher(url, {
      method,
      headers: options?.headers ?? {},
      ...(options?.body === undefined ? {} : { body: options.body }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    const headers: Record<string, string> = {}
    response.headers.forEach((value, name) => {
      headers[name] = value
    })
    const text = await response.text()
    let body: unknown = {}
    try {
      body = text ? JSON.parse(text) : {}
    } catch {
      body = { error: 'invalid_response', error_description: `Non-JSON response (HTTP ${response.status})` }
    }
    return { headers, body: body as T, status: response.status } satisfies NetworkResponse<T>
  }
  return {
    sendGetRequestAsync: (url, options) => send(url, 'GET', options),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  }
}
