import type { INetworkModule, NetworkResponse } from '@azure/msal-node'

export interface FakeEntraOptions {
  clientId: string
  secret: string
  /** Tenants where the app has a service principal. */
  consented: string[]
  /** Tenants that exist. Default: consented ones. */
  tenants?: string[]
  lifetimeSeconds?: number
  refreshInSeconds?: number
  /** Latency of the token endpoint in ms (default 0). */
  latencyMs?: number
}

/**
 * An in-process Entra ID token endpoint as an MSAL network module: enough of the client-credentials grant to drive
 * the real MSAL without sockets. Answers errors as Entra does (AADSTS codes in error_description and error_codes).
 */
export function fakeEntra(options: FakeEntraOptions) {
  let tokenRequests = 0
  const gets: string[] = []
  let failNext = 0
  const tenants = new Set([...(options.tenants ?? []), ...options.consented])
  const error = (status: number, error: string, code: number, text: string) => ({
    status,
    headers: {},
    body: {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: x`,
      error_codes: [code],
      correlation_id: 'corr-1',
    },
  })
  const module: INetworkModule = {
    async sendGetRequestAsync<T>(url: string): Promise<NetworkResponse<T>> {
      gets.push(url)
      return { status: 404, headers: {}, body: { error: 'not_found' } as T }
    },
    async sendPostRequestAsync<T>(url: string, init?: { body?: string }): Promise<NetworkResponse<T>> {
      tokenRequests++
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs))
      const tenant = new URL(url).pathname.split('/')[1] ?? ''
      const form = new URLSearchParams(init?.body ?? '')
      const scope = form.get('scope') ?? ''
      let res: { status: number; headers: Record<string, string>; body: unknown }
      if (failNext > 0) {
        failNext--
        res = error(503, 'temporarily_unavailable', 50_000, 'Service unavailable.')
      } else if (!tenants.has(tenant))
        res = error(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`)
      else if (form.get('client_id') !== options.clientId || !options.consented.includes(tenant))
        res = error(
          400,
          'unauthorized_client',
          700016,
          `Application with identifier '${form.get('client_id')}' was not found in the directory.`,
        )
      else if (form.has('client_secret') && form.get('client_secret') !== options.secret)
        res = error(401, 'invalid_client', 7000215, 'Invalid client secret provided.')
      else {
        const n = tokenRequests
        const payload = Buffer.from(
          JSON.stringify({ tid: tenant, aud: scope.replace('/.default', ''), n }),
        ).toString('base64url')
        res = {
          status: 200,
          headers: {},
          body: {
            token_type: 'Bearer',
            expires_in: options.lifetimeSeconds ?? 3599,
            ext_expires_in: options.lifetimeSeconds ?? 3599,
            ...(options.refreshInSeconds ? { refresh_in: options.refreshInSeconds } : {}),
            access_token: `eyJhbGciOiJSUzI1NiJ9.${payload}.c2ln`,
          },
        }
      }
      return res as NetworkResponse<T>
    },
  }
  return {
    module,
    tokenRequests: () => tokenRequests,
    gets,
    failNext: (n: number) => {
      failNext = n
    },
  }
}
