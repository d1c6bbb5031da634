import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'

/** A key and a self-signed certificate made by openssl, valid from `start` to `end` (`YYYYMMDDHHMMSSZ`) or for `days`. */
export function makeCertificate(
  dir: string,
  name: string,
  validity: { days: number } | { start: string; end: string },
): { certificatePem: string; privateKeyPem: string } {
  const d = join(dir, name)
  mkdirSync(d, { recursive: true })
  const key = join(d, 'key.pem')
  const cert = join(d, 'cert.pem')
  if ('days' in validity) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        String(validity.days),
        '-subj',
        `/CN=${name}`,
      ],
      { stdio: 'ignore' },
    )
  } else {
    // openssl 3.0's req has no start date: `ca -selfsign` takes one
    writeFileSync(join(d, 'index.txt'), '')
    writeFileSync(join(d, 'serial'), '01\n')
    writeFileSync(
      join(d, 'ca.cnf'),
      `[ca]\ndefault_ca=d\n[d]\ndatabase=${d}/index.txt\nnew_certs_dir=${d}\nserial=${d}/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n`,
    )
    const csr = join(d, 'req.csr')
    execFileSync(
      'openssl',
      ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`],
      { stdio: 'ignore' },
    )
    execFileSync(
      'openssl',
      [
        'ca',
        '-config',
        join(d, 'ca.cnf'),
        '-selfsign',
        '-keyfile',
        key,
        '-in',
        csr,
        '-startdate',
        validity.start,
        '-enddate',
        validity.end,
        '-batch',
        '-notext',
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    )
  }
  return { certificatePem: readFileSync(cert, 'utf8'), privateKeyPem: readFileSync(key, 'utf8') }
}

/** Writes a PEM holding a private key and a certificate, as ENTRA_CERTIFICATE_PATH wants it; returns its path. */
export function writePem(
  dir: string,
  name: string,
  parts: { privateKeyPem: string; certificatePem: string },
): string {
  const path = join(dir, `${name}.pem`)
  writeFileSync(path, `${parts.privateKeyPem}${parts.certificatePem}`, { mode: 0o600 })
  return path
}

/** The role the real-tenants page names (`DATAVERSE_ROLE`'s default). */
export const CONNECTOR_ROLE = 'Dataverse S2S Connector'

/**
 * An emulator standing in for Azure, with nothing of its default world: an ISV tenant with a freshly registered
 * multi-tenant app (its own id, secret and certificate) and a customer tenant with a Dataverse org, its admin and an
 * ordinary user, created through the emulator's admin API as the real-tenants page describes them.
 */
export async function startStandIn(options: {
  dir: string
  publicUrl: string
  certificate: { certificatePem: string }
}) {
  const emulator: EmulatorHandle = await startEmulator({ port: 0, seed: { tenants: [] } })
  const admin = emulator.admin
  const isv = admin.createTenant({
    displayName: 'Northwind Traders',
    domain: 'northwindtraders.onmicrosoft.com',
  })
  const appId = randomUUID()
  const secret = randomBytes(30).toString('base64url')
  const app = await admin.createApp({
    appId,
    homeTenantId: isv.id,
    displayName: 'Northwind Connector',
    // "Accounts in any organizational directory (multitenant)"
    signInAudience: 'AzureADMultipleOrgs',
    secrets: [secret],
    certificates: [{ certificatePem: options.certificate.certificatePem }],
    // Authentication: the SPA platform's redirect URI is PUBLIC_URL, the Web platform's PUBLIC_URL/onboarding/callback
    redirectUris: { spa: [options.publicUrl], web: [`${options.publicUrl}/onboarding/callback`] },
    // Expose an API: api://<client id>, scope access_as_user; manifest requestedAccessTokenVersion 2
    identifierUri: `api://${appId}`,
    exposedScopes: ['access_as_user'],
    requestedAccessTokenVersion: 2,
    // Token configuration: groups claim, directory roles (wids)
    groupMembershipClaims: 'DirectoryRole',
  })
  const customer = admin.createTenant({ displayName: 'Adatum', domain: 'adatum.onmicrosoft.com' })
  const customerAdmin = admin.createUser({
    tenantId: customer.id,
    userPrincipalName: 'admin@adatum.onmicrosoft.com',
    displayName: 'Ada Admin',
    isTenantAdmin: true,
    dataverseRoles: ['System Administrator'],
  })
  const user = admin.createUser({
    tenantId: customer.id,
    userPrincipalName: 'user@adatum.onmicrosoft.com',
    displayName: 'Uma User',
    dataverseRoles: ['Basic User'],
  })
  const org = await admin.createOrg({
    uniqueName: 'adatum',
    tenantId: customer.id,
    displayName: 'Adatum',
    dataverse: {
      sampleData: false,
      rows: {
        accounts: [{ name: 'Adatum Corporation' }, { name: 'Adatum Logistics' }, { name: 'Adatum Research' }],
      },
    },
  })
  const caFile = join(options.dir, 'stand-in-ca.pem')
  writeFileSync(caFile, emulator.caCertPem)
  return { emulator, isv, app, appId, secret, customer, customerAdmin, user, org, caFile }
}
