// The single-tenant walkthrough's code: one tenant, a certificate, several environments, a paging job.
import {
  type Cloud,
  clientCertificate,
  createTenantDiscovery,
  createTokenProvider,
} from '@dataverse-s2s/core'
import { createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'

export interface SingleTenantConfig {
  tenantId: string
  clientId: string
  certificatePem: string
  privateKeyPem: string
  /** Environment name → org URL, from configuration. */
  environments: Record<string, string>
  cloud: Cloud
  ca: string
}

export async function connectEnvironments(config: SingleTenantConfig) {
  const { tenantId, clientId, cloud, ca } = config
  // #region provider
  // One provider; its default tenant is the organization's own, so requests need not name it.
  const tokens = createTokenProvider({
    clientId,
    tenantId,
    credential: clientCertificate({ certificate: config.certificatePem, privateKey: config.privateKeyPem }),
    cloud,
    http: { ca },
  })
  // #endregion provider

  // #region environments
  // Refuse to start if an environment's org belongs to another tenant (a typo would send our tokens elsewhere).
  const discovery = createTenantDiscovery({ cloud, http: { ca } })
  const clients = new Map<string, DataverseClient>()
  for (const [name, url] of Object.entries(config.environments)) {
    const owner = await discovery.discover(url)
    if (owner.tenantId !== tenantId) throw new Error(`Environment ${name} (${url}) belongs to another tenant`)
    clients.set(
      name,
      createDataverseClient({
        url,
        getToken: async (resource) => (await tokens.getToken({ resource })).token,
        ca,
      }),
    )
  }
  // #endregion environments
  return clients
}

export async function report(client: DataverseClient, write: (line: string) => void) {
  // #region job
  // Every contact, one page (500 rows) in memory at a time, one NDJSON line each; throttling is absorbed by the
  // client. The sample's job also checkpoints the last page link so that a restart resumes where it stopped.
  let rows = 0
  for await (const contact of client.queryAll<{ contactid: string; fullname: string }>('contacts', {
    select: ['contactid', 'fullname'],
    orderBy: 'contactid',
    maxPageSize: 500,
  })) {
    write(JSON.stringify(contact))
    rows++
  }
  // #endregion job
  return rows
}
