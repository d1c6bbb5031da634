// The same program on Bun, Deno and workerd: a token by a client-credentials POST with the runtime's fetch, then
// the built @dataverse-s2s/webapi (no MSAL, no Node): WhoAmI, a query, a create.
import { createDataverseClient } from '@dataverse-s2s/webapi'

/** Runtime-specific fetch init that trusts `ca` (Bun: `tls`, Deno: an HttpClient); workerd trusts by config. */
function trustInit(ca) {
  if (!ca) return {}
  if (globalThis.Deno?.createHttpClient)
    return { client: globalThis.Deno.createHttpClient({ caCerts: [ca] }) }
  if (globalThis.Bun !== undefined) return { tls: { ca: [ca] } }
  return {}
}

export async function runProgram({ authority, tenantId, clientId, clientSecret, orgUrl, ca }) {
  const init = trustInit(ca)
  const getToken = async (resource) => {
    const response = await fetch(`${authority}/${tenantId}/oauth2/v2.0/token`, {
      ...init,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        scope: `${resource}/.default`,
      }),
    })
    if (!response.ok) throw new Error(`token endpoint answered ${response.status}`)
    return (await response.json()).access_token
  }
  const client = createDataverseClient({ url: orgUrl, getToken, ...(ca ? { ca } : {}) })
  const me = await client.whoAmI()
  const page = await client.query('accounts', { select: ['name'], top: 3 })
  const name = `Runtime test ${Math.random().toString(36).slice(2)}`
  const id = await client.create('accounts', { name })
  const created = await client.retrieve('accounts', id, { select: ['name'] })
  return {
    runtime: globalThis.Bun
      ? 'bun'
      : globalThis.Deno
        ? 'deno'
        : (globalThis.navigator?.userAgent ?? 'unknown'),
    userId: me.userId,
    accounts: page.value.length,
    created: created.name === name,
  }
}
