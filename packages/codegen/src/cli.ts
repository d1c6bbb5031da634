#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import {
  type Cloud,
  clouds,
  createTokenProvider,
  credentialsFromEnv,
  defineCloud,
  discoverTenant,
  type EnvCredentials,
  isCoreError,
} from '@dataverse-s2s/core'
import { createDataverseClient, type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'
import { readChoices } from './choices.ts'
import { CodegenError, isCodegenError } from './errors.ts'
import { generate, selectTables } from './generate.ts'
import { parseMetadata } from './model.ts'

const usage = `Usage: dataverse-s2s-codegen (--org <url> | --metadata <file>) (--tables <names> | --prefix <prefix>) [options]

Generates TypeScript types for Dataverse tables from an org's CSDL $metadata.

Source (one of):
  --org <url>              Download $metadata from this org (e.g. https://contoso.crm.dynamics.com) with app-only
                           credentials from the environment (see below).
  --metadata <file>        Read a saved $metadata document instead.
Tables (one or both):
  --tables <a,b>           Logical names of the tables, comma-separated (account,new_project).
  --prefix <p,q>           Every table whose logical name starts with a publisher prefix (new_).
Options:
  --enums                  With --org: also read the choice columns' options from the table definitions and
                           write them as \`as const\` enums with labels (AccountIndustryCode, ...).
  --out <file>             Write the TypeScript here (default: standard output).
  --api-version <v>        Web API version (default 9.2).
  --cloud <name>           public (default: recognised from the org URL), gcc, gcc-high, dod or china.
  --authority-host <url>   A custom cloud's Entra ID origin, e.g. the emulator's https://localhost:8443.
  --ca <file>              Also trust this CA certificate (PEM), e.g. the emulator's.
  -h, --help               Show this help.

Environment (with --org):
  DATAVERSE_CLIENT_ID          The app registration's application (client) id.
  DATAVERSE_CLIENT_SECRET      Its client secret, or:
  DATAVERSE_CERTIFICATE_PATH   a PEM certificate, with DATAVERSE_PRIVATE_KEY_PATH (default: the same file) and
                               DATAVERSE_CERTIFICATE_PASSPHRASE for an encrypted key.
  DATAVERSE_TENANT_ID          The tenant that owns the org (default: discovered from the org's 401 challenge).
`

/** A mistake in the command line: exit code 2. */
class UsageError extends Error {}

const CLOUD_NAMES = Object.keys(clouds) as (keyof typeof clouds)[]

interface Args {
  org?: string
  metadata?: string
  tables?: string[]
  prefix?: string[]
  out?: string
  apiVersion: string
  cloud?: keyof typeof clouds
  authorityHost?: string
  ca?: string
  enums?: boolean
}

function readArgs(argv: string[]): Args | 'help' {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : argv,
      options: {
        org: { type: 'string' },
        metadata: { type: 'string' },
        tables: { type: 'string' },
        prefix: { type: 'string' },
        out: { type: 'string' },
        'api-version': { type: 'string' },
        cloud: { type: 'string' },
        'authority-host': { type: 'string' },
        ca: { type: 'string' },
        enums: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values['help']) return 'help'
  const str = (name: string): string | undefined => {
    const v = values[name]
    if (v === '') throw new UsageError(`--${name} needs a value.`)
    return typeof v === 'string' ? v : undefined
  }
  const list = (name: string): string[] | undefined => {
    const v = str(name)
    if (v === undefined) return undefined
    const items = v.split(',').map((s) => s.trim())
    if (items.some((s) => s === ''))
      throw new UsageError(`--${name} takes a comma-separated list without empty items.`)
    return items
  }
  const args: Args = { apiVersion: str('api-version') ?? '9.2' }
  const org = str('org')
  const metadata = str('metadata')
  if ((org === undefined) === (metadata === undefined)) {
    throw new UsageError('Pass exactly one of --org <url> and --metadata <file>.')
  }
  const tables = list('tables')
  const prefix = list('prefix')
  if (tables === undefined && prefix === undefined) {
    throw new UsageError(
      'Choose the tables with --tables <logical names> and/or --prefix <publisher prefix>.',
    )
  }
  const cloud = str('cloud')
  if (cloud !== undefined && !CLOUD_NAMES.includes(cloud as keyof typeof clouds)) {
    throw new UsageError(`--cloud must be one of ${CLOUD_NAMES.join(', ')}.`)
  }
  const authorityHost = str('authority-host')
  if (cloud !== undefined && authorityHost !== undefined) {
    throw new UsageError('Pass --cloud or --authority-host, not both.')
  }
  if (metadata !== undefined && (cloud ?? authorityHost ?? str('ca')) !== undefined) {
    throw new UsageError('--cloud, --authority-host and --ca only apply with --org.')
  }
  if (!/^\d+\.\d+$/.test(args.apiVersion)) throw new UsageError('--api-version must look like 9.2.')
  if (values['enums'] && metadata !== undefined) {
    throw new UsageError('--enums reads the options from an org: use it with --org, not --metadata.')
  }
  if (values['enums']) args.enums = true
  Object.assign(
    args,
    org === undefined ? {} : { org },
    metadata === undefined ? {} : { metadata },
    tables === undefined ? {} : { tables },
    prefix === undefined ? {} : { prefix },
    str('out') === undefined ? {} : { out: str('out') },
    cloud === undefined ? {} : { cloud },
    authorityHost === undefined ? {} : { authorityHost },
    str('ca') === undefined ? {} : { ca: str('ca') },
  )
  return args
}

/** The app registration from the environment (core's `credentialsFromEnv`); a missing or unreadable one is a usage error. */
async function credentialsOrUsage(): Promise<EnvCredentials> {
  try {
    return await credentialsFromEnv()
  } catch (err) {
    if (isCoreError(err)) throw new UsageError(`--org needs credentials: ${err.message}`, { cause: err })
    throw err
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    throw new UsageError(
      `Cannot read ${what} (${path}): ${(cause as NodeJS.ErrnoException).code ?? 'error'}.`,
      {
        cause,
      },
    )
  }
}

/** Downloads `$metadata` and the org's version with an app-only token. */
async function download(
  args: Args & { org: string },
): Promise<{ xml: string; source: string; client: DataverseClient }> {
  const { clientId, credential, tenantId: envTenant } = await credentialsOrUsage()
  const ca = args.ca === undefined ? undefined : await readText(args.ca, '--ca')
  let orgUrl: URL
  try {
    orgUrl = new URL(args.org)
  } catch {
    throw new UsageError(
      `--org must be an org URL such as https://contoso.crm.dynamics.com (got ${args.org}).`,
    )
  }
  const http = ca === undefined ? {} : { http: { ca } }
  let cloud: Cloud | undefined =
    args.authorityHost === undefined
      ? args.cloud === undefined
        ? undefined
        : clouds[args.cloud]
      : defineCloud({ name: 'custom', authorityHost: args.authorityHost, dataverseHosts: [orgUrl.hostname] })
  let tenantId = envTenant
  if (tenantId === undefined) {
    const found = await discoverTenant(orgUrl.origin, { ...(cloud ? { cloud } : {}), ...http })
    tenantId = found.tenantId
    cloud = found.cloud
  }
  const tokens = createTokenProvider({ clientId, credential, tenantId, ...(cloud ? { cloud } : {}), ...http })
  const client = createDataverseClient({
    url: orgUrl.origin,
    apiVersion: args.apiVersion,
    getToken: async (resource, { forceRefresh }) => {
      if (forceRefresh) tokens.invalidate({ resource })
      return tokens.getToken({ resource })
    },
    userAgent: 'dataverse-s2s-codegen',
    ...(ca === undefined ? {} : { ca }),
  })
  const res = await client.request<string>({
    method: 'GET',
    path: '$metadata',
    headers: { accept: 'application/xml' },
  })
  if (typeof res.body !== 'string' || res.body === '') {
    throw new CodegenError('FETCH_FAILED', `${orgUrl.origin} answered $metadata without an XML document.`)
  }
  // RetrieveVersion: GET {org}/api/data/v9.2/RetrieveVersion() answers {"Version": "9.2.x"} (Web API reference).
  const { Version } = await client.callFunction<{ Version?: string }>('RetrieveVersion')
  const version = Version ? `Dataverse ${Version}, ` : ''
  return { xml: res.body, source: `${orgUrl.origin} (${version}Web API v${args.apiVersion})`, client }
}

async function main(argv: string[]): Promise<number> {
  const args = readArgs(argv)
  if (args === 'help') {
    process.stdout.write(usage)
    return 0
  }
  const { xml, source, client } =
    args.org === undefined
      ? {
          xml: await readText(args.metadata as string, '--metadata'),
          source: basename(args.metadata as string),
          client: undefined,
        }
      : await download({ ...args, org: args.org })
  const model = parseMetadata(xml)
  const options = {
    ...(args.tables ? { tables: args.tables } : {}),
    ...(args.prefix ? { prefix: args.prefix } : {}),
    source,
  }
  const choices =
    args.enums && client
      ? await readChoices(
          client.definitions,
          selectTables(model, options).map((t) => t.logicalName),
        )
      : undefined
  const code = generate(model, { ...options, ...(choices ? { choices } : {}) })
  if (args.out === undefined) process.stdout.write(code)
  else await writeFile(args.out, code)
  return 0
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(
        `dataverse-s2s-codegen: ${err.message}\n\nRun dataverse-s2s-codegen --help for usage.\n`,
      )
      process.exitCode = 2
      return
    }
    // The toolkit's errors never carry a secret or a token, so their messages and causes are safe to print.
    const lines: string[] = []
    let cause: unknown = err
    for (let depth = 0; cause !== undefined && depth < 4; depth++) {
      const code =
        isCodegenError(cause) || isCoreError(cause) || isDataverseError(cause) ? ` [${cause.code}]` : ''
      lines.push(`${depth === 0 ? 'dataverse-s2s-codegen: ' : '  caused by: '}${describe(cause)}${code}`)
      cause = cause instanceof Error ? cause.cause : undefined
    }
    process.stderr.write(`${lines.join('\n')}\n`)
    process.exitCode = 1
  },
)
