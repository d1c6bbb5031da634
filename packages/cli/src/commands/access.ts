import {
  acquireTokenByDeviceCode,
  credentialsFromEnv,
  discoverTenant,
  isCoreError,
  type SecretCredential,
} from '@dataverse-s2s/core'
import {
  type AccessProblem,
  createDataverseClient,
  ensureApplicationUser,
  verifyAccess,
} from '@dataverse-s2s/webapi'
import type { Command } from 'commander'
import { cloudOf, connect, type GlobalOptions, loadSettings, readCa, requireOrg } from '../connect.ts'
import type { Context } from '../context.ts'
import { CliError } from '../errors.ts'
import { explain } from '../explain.ts'
import { colours, printJson } from '../output.ts'

/** One missing piece of a check, with the command or action that fixes it. */
interface Finding {
  kind: AccessProblem['kind'] | 'NO_TOKEN'
  message: string
  fix: string
}

function fixFor(problem: AccessProblem, org: string, roles: readonly string[]): string {
  const role = JSON.stringify(roles[0] ?? '<role>')
  switch (problem.kind) {
    case 'NO_APPLICATION_USER':
    case 'NO_ROLES':
      return `As an admin of the org: dataverse-s2s provision --org ${org} --role ${role}`
    case 'MISSING_ROLE': {
      const missing = /role (".*")/.exec(problem.message)?.[1] ?? role
      return `As an admin of the org: dataverse-s2s provision --org ${org} --role ${missing}`
    }
    case 'TOKEN_REJECTED':
      return `Check that the org belongs to the tenant (dataverse-s2s discover --org ${org}) and that the app has consent there.`
    case 'CANNOT_VERIFY_ROLES':
      return 'Give the role read access to security roles (prvReadRole), or check tables with --read <entity set> instead.'
    case 'CANNOT_READ':
      return "Give the application user's role Read privilege on that table (Settings > Security > Security roles)."
    case 'UNREACHABLE':
      return `Check the org URL and the network; dataverse-s2s whoami --org ${org} shows the raw error.`
  }
}

const list = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
]

export function registerAccess(program: Command, ctx: Context, withGlobals: (c: Command) => Command): void {
  withGlobals(
    program
      .command('check')
      .description(
        "Check the app's application user, its state, roles and table access in an org; exit 3 when something is missing",
      )
      .option('--role <names>', 'Roles the app must hold (repeat or comma-separate)', list)
      .option(
        '--read <entitySets>',
        'Entity sets the app must be able to read (repeat or comma-separate)',
        list,
      ),
  ).action(async (opts: GlobalOptions & { role?: string[]; read?: string[] }) => {
    const settings = await loadSettings(opts, ctx.io.env)
    const orgUrl = requireOrg(settings)
    const conn = await connect(settings, orgUrl)
    const roles = opts.role ?? []
    const findings: Finding[] = []
    let report: Awaited<ReturnType<typeof verifyAccess>> | undefined
    try {
      await conn.tokens.getToken({ resource: orgUrl })
    } catch (err) {
      if (!isCoreError(err)) throw err
      const { cause, fix, code } = explain(err)
      findings.push({ kind: 'NO_TOKEN', message: `${cause} [${code}]`, fix })
    }
    if (findings.length === 0) {
      report = await verifyAccess(conn.client, {
        expectedRoles: roles,
        readableEntitySets: opts.read ?? [],
        signal: ctx.signal,
      })
      for (const p of report.problems)
        findings.push({ kind: p.kind, message: p.message, fix: fixFor(p, orgUrl, roles) })
    }
    const ok = findings.length === 0
    if (!ok) ctx.exitCode = 3
    if (opts.json)
      return printJson(ctx.io, {
        ok,
        org: orgUrl,
        tenantId: conn.tenantId,
        applicationId: conn.clientId,
        userId: report?.userId,
        businessUnitId: report?.businessUnitId,
        roles: report?.roles,
        problems: findings,
      })
    const c = colours(ctx.io, 'stdout')
    const out = (line: string) => ctx.io.stdout.write(`${line}\n`)
    out(`Access of app ${conn.clientId} to ${orgUrl} (tenant ${conn.tenantId})`)
    const mark = (good: boolean) => (good ? c.ok('✓') : c.bad('✗'))
    out(
      `${mark(findings[0]?.kind !== 'NO_TOKEN')} token        ${findings[0]?.kind === 'NO_TOKEN' ? 'not issued' : 'issued'}`,
    )
    if (report) {
      out(`${mark(report.userId !== undefined)} app user     ${report.userId ?? 'missing or disabled'}`)
      if (report.roles !== undefined)
        out(`${mark(report.roles.length > 0)} roles        ${report.roles.join(', ') || 'none'}`)
      for (const set of opts.read ?? [])
        out(
          `${mark(!findings.some((f) => f.kind === 'CANNOT_READ' && f.message.includes(` ${set} `)))} read         ${set}`,
        )
    }
    for (const f of findings) {
      out(`${c.bad('✗')} ${f.kind}: ${f.message}`)
      out(`  fix: ${f.fix}`)
    }
    out(
      ok
        ? c.ok('Everything the app needs is in place.')
        : c.bad(`${findings.length} missing: see the fixes above.`),
    )
  })

  withGlobals(
    program
      .command('provision')
      .description(
        "As an org admin signed in with a device code, create or repair the app's application user and give it roles",
      )
      .requiredOption(
        '--role <names>',
        'Security roles to give the application user (repeat or comma-separate)',
        list,
      )
      .option(
        '--admin-client-id <id>',
        'A public client app (Allow public client flows) the admin signs in to; default: the app itself, with its secret',
      ),
  ).action(async (opts: GlobalOptions & { role: string[]; adminClientId?: string }) => {
    const settings = await loadSettings(opts, ctx.io.env)
    const orgUrl = requireOrg(settings)
    const credentials = await credentialsFromEnv(settings.env)
    const ca = await readCa(settings)
    const http = ca ? { http: { ca } } : {}
    const configured = cloudOf(settings, orgUrl)
    // the org's own tenant, whatever DATAVERSE_TENANT_ID says: the admin signs in there
    const found =
      settings.tenant === undefined
        ? await discoverTenant(orgUrl, {
            ...(configured ? { cloud: configured } : {}),
            ...http,
            signal: ctx.signal,
          })
        : undefined
    const tenant = settings.tenant ?? (found?.tenantId as string)
    const cloud = found?.cloud ?? configured
    let credential: SecretCredential | undefined
    if (opts.adminClientId === undefined) {
      if (credentials.credential.kind !== 'secret')
        throw new CliError(
          'USAGE',
          'Device code sign-in to the app itself needs its client secret; with a certificate, pass --admin-client-id <a public client app>.',
        )
      credential = credentials.credential
    }
    const tty = ctx.io.stderr.isTTY === true
    const clack = tty ? await import('@clack/prompts') : undefined
    let spinner: { stop(message?: string): void } | undefined
    const token = await acquireTokenByDeviceCode({
      clientId: opts.adminClientId ?? credentials.clientId,
      ...(credential ? { credential } : {}),
      tenant,
      scopes: [`${orgUrl}/user_impersonation`],
      ...(cloud ? { cloud } : {}),
      ...http,
      signal: ctx.signal,
      onPrompt: (p) => {
        if (clack) {
          clack.note(
            `Open ${p.verificationUri}\nand enter the code ${p.userCode}`,
            'Sign in as an admin of the org',
          )
          const s = clack.spinner({ output: ctx.io.stderr })
          s.start('Waiting for the sign-in')
          spinner = s
        } else ctx.io.stderr.write(`${p.message}\n`)
      },
    }).finally(() => spinner?.stop('Signed in'))
    const admin = createDataverseClient({
      url: orgUrl,
      getToken: () => token.accessToken,
      userAgent: 'dataverse-s2s-cli',
      ...(ca ? { ca } : {}),
    })
    const result = await ensureApplicationUser(admin, {
      applicationId: credentials.clientId,
      roles: opts.role,
      signal: ctx.signal,
    })
    // then, as the app itself: the proof that it works
    const conn = await connect({ ...settings, tenant }, orgUrl)
    const report = await verifyAccess(conn.client, { expectedRoles: opts.role, signal: ctx.signal })
    if (!report.ok) ctx.exitCode = 3
    if (opts.json)
      return printJson(ctx.io, {
        org: orgUrl,
        tenantId: tenant,
        applicationId: credentials.clientId,
        ...result,
        verified: report.ok,
        problems: report.problems.map((p) => ({ kind: p.kind, message: p.message })),
      })
    const out = (line: string) => ctx.io.stdout.write(`${line}\n`)
    out(
      `${result.created ? 'Created' : 'Found'} application user ${result.systemUserId} for app ${credentials.clientId}`,
    )
    if (result.enabled) out('Enabled it (it was disabled).')
    out(
      result.rolesAdded.length
        ? `Gave it the role(s): ${result.rolesAdded.join(', ')}`
        : 'It already held the role(s).',
    )
    out(
      report.ok
        ? 'Checked as the app: access works.'
        : `Checked as the app: ${report.problems.map((p) => p.message).join(' ')}`,
    )
  })
}
