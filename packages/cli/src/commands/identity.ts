import { buildAdminConsentUrl, discoverTenant } from '@dataverse-s2s/core'
import type { Command } from 'commander'
import { cloudOf, connect, type GlobalOptions, loadSettings, readCa, requireOrg } from '../connect.ts'
import type { Context } from '../context.ts'
import { CliError } from '../errors.ts'
import { printJson, printPairs } from '../output.ts'

// Claims that are opaque session internals of Entra ID: shown as present, not by value.
const OPAQUE_CLAIMS = new Set(['aio', 'uti', 'rh', 'xms_tcdt', 'xms_ftd'])

/** Decodes a JWT's header and claims (without verifying it), redacting Entra's opaque claims. */
export function decodeToken(token: string): {
  header: Record<string, unknown>
  claims: Record<string, unknown>
} {
  const [h, p] = token.split('.')
  const part = (s: string | undefined) =>
    JSON.parse(Buffer.from(s ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
  const claims = part(p)
  for (const key of Object.keys(claims)) if (OPAQUE_CLAIMS.has(key)) claims[key] = '<redacted>'
  return { header: part(h), claims }
}

export function registerIdentity(program: Command, ctx: Context, withGlobals: (c: Command) => Command): void {
  withGlobals(
    program
      .command('token')
      .description(
        "Get the app's token for an org and show its decoded claims (never the token unless --raw)",
      )
      .option('--resource <url>', 'Resource to ask for (default: the org URL)')
      .option('--raw', 'Print the access token itself (treat the output as a secret)'),
  ).action(async (opts: GlobalOptions & { resource?: string; raw?: boolean }) => {
    const settings = await loadSettings(opts, ctx.io.env)
    const orgUrl = requireOrg(settings)
    const conn = await connect(settings, orgUrl)
    const resource = opts.resource ?? orgUrl
    const { token, expiresOn } = await conn.tokens.getToken({ resource })
    if (opts.raw) {
      ctx.io.stdout.write(opts.json ? `${JSON.stringify({ accessToken: token, expiresOn })}\n` : `${token}\n`)
      return
    }
    const { header, claims } = decodeToken(token)
    if (opts.json) return printJson(ctx.io, { resource, tenantId: conn.tenantId, expiresOn, header, claims })
    printPairs(ctx.io, [
      ['resource', resource],
      ['tenant', conn.tenantId],
      ['expires', expiresOn.toISOString()],
      ['alg / kid', `${String(header['alg'])} / ${String(header['kid'] ?? header['x5t'] ?? '')}`],
      ...Object.entries(claims).map(([k, v]): [string, string] => [
        k,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
      ['signature', '<not shown; --raw prints the whole token>'],
    ])
  })

  withGlobals(program.command('whoami').description('Call WhoAmI in the org as the app')).action(
    async (opts: GlobalOptions) => {
      const settings = await loadSettings(opts, ctx.io.env)
      const orgUrl = requireOrg(settings)
      const conn = await connect(settings, orgUrl)
      const who = await conn.client.whoAmI({ signal: ctx.signal })
      const out = { org: orgUrl, tenantId: conn.tenantId, applicationId: conn.clientId, ...who }
      if (opts.json) return printJson(ctx.io, out)
      printPairs(ctx.io, [
        ['org', orgUrl],
        ['tenant', conn.tenantId],
        ['application', conn.clientId],
        ['user (systemuserid)', who.userId],
        ['business unit', who.businessUnitId],
        ['organization', who.organizationId],
      ])
    },
  )

  withGlobals(
    program
      .command('consent-url')
      .description(
        'Print the admin-consent URL for a customer tenant (by tenant id/domain, or found from an org URL)',
      )
      .option('--redirect-uri <url>', 'A redirect URI registered on the app (Web platform)'),
  ).action(async (opts: GlobalOptions & { redirectUri?: string }) => {
    const settings = await loadSettings(opts, ctx.io.env)
    const clientId = settings.env['DATAVERSE_CLIENT_ID']?.trim()
    if (!clientId)
      throw new CliError('USAGE', 'consent-url needs DATAVERSE_CLIENT_ID (or a profile with clientId).')
    if ((opts.tenant === undefined) === (settings.org === undefined))
      throw new CliError('USAGE', 'Pass exactly one of --tenant <id or domain> and --org <url>.')
    let tenant = opts.tenant
    let resource: string | undefined
    let cloud = cloudOf(settings)
    if (tenant === undefined) {
      resource = requireOrg(settings)
      const ca = await readCa(settings)
      const orgCloud = cloudOf(settings, resource)
      const found = await discoverTenant(resource, {
        ...(orgCloud ? { cloud: orgCloud } : {}),
        ...(ca ? { http: { ca } } : {}),
        signal: ctx.signal,
      })
      tenant = found.tenantId
      cloud = found.cloud
    }
    const url = buildAdminConsentUrl({
      clientId,
      tenant,
      ...(resource ? { resource, version: 'v2' as const } : { version: 'v1' as const }),
      ...(opts.redirectUri ? { redirectUri: opts.redirectUri } : {}),
      ...(cloud ? { cloud } : {}),
    })
    if (opts.json) return printJson(ctx.io, { tenant, clientId, url })
    ctx.io.stdout.write(`${url}\n`)
  })

  withGlobals(
    program
      .command('discover')
      .description("Find an org's tenant and cloud from its URL (no credentials needed)"),
  ).action(async (opts: GlobalOptions) => {
    const settings = await loadSettings(opts, ctx.io.env)
    const orgUrl = requireOrg(settings)
    const ca = await readCa(settings)
    const cloud = cloudOf(settings, orgUrl)
    const found = await discoverTenant(orgUrl, {
      ...(cloud ? { cloud } : {}),
      ...(ca ? { http: { ca } } : {}),
      signal: ctx.signal,
    })
    const out = {
      org: found.orgUrl,
      tenantId: found.tenantId,
      cloud: found.cloud.name,
      authorityHost: found.cloud.authorityHost,
      authority: found.authority,
    }
    if (opts.json) return printJson(ctx.io, out)
    printPairs(ctx.io, [
      ['org', out.org],
      ['tenant', out.tenantId],
      ['cloud', out.cloud],
      ['authority', out.authority],
    ])
  })
}
