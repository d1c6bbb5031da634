import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The packed packages, installed by npm into a project outside the workspace, are what a user gets: no
// `@dataverse-s2s/source` condition, no workspace links, only what `files` ships and what `dependencies` name.
// Needs `pnpm build` first (the README's test command builds before the tests).

const run = promisify(execFile)
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// Every package that is not private is published: a new one is covered without editing this list.
const published = readdirSync(join(root, 'packages')).filter((dir) => {
  const manifest = join(root, 'packages', dir, 'package.json')
  return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).private !== true
})
const work = mkdtempSync(join(tmpdir(), 'dvs2s-tarballs-'))
const project = join(work, 'project')
const tarballs = join(work, 'tarballs')
let npmInstallMs = 0

beforeAll(async () => {
  for (const pkg of published) {
    if (!existsSync(join(root, 'packages', pkg, 'dist', 'index.js'))) {
      throw new Error(`packages/${pkg}/dist is missing: run \`pnpm build\` before this test.`)
    }
  }
  mkdirSync(tarballs)
  mkdirSync(project)
  // pnpm pack rewrites `workspace:*` to the version, as publishing does.
  await Promise.all(
    published.map((pkg) =>
      run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(root, 'packages', pkg) }),
    ),
  )
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  )
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['*.ts'],
    }),
  )
  const files = readdirSync(tarballs).map((file) => join(tarballs, file))
  const started = Date.now()
  // All tarballs in one install, so hono's and codegen's dependency on core and webapi resolves to them.
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...files,
      'hono@4.13.19',
      'typescript@5.9.3',
      '@types/node@20.19.0',
    ],
    { cwd: project, env: { ...process.env, npm_config_workspaces: 'false' } },
  )
  npmInstallMs = Date.now() - started
}, 180_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

const script = `
import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, startEmulator, trustEmulatorGlobally } from '@dataverse-s2s/emulator'
import { createDataverseClient } from '@dataverse-s2s/webapi'
import { dataverseClient, resolveTenant } from '@dataverse-s2s/hono'
import { generate, parseMetadata } from '@dataverse-s2s/codegen'

const emulator = await startEmulator({ port: 0 })
try {
  const contoso = emulator.orgs.find((org) => org.tenantId === defaultIds.contosoTenantId)
  const tokens = createTokenProvider({
    clientId: defaultIds.multiTenantAppId,
    credential: clientSecret(defaultIds.multiTenantAppSecret),
    cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url }),
    http: { ca: emulator.caCertPem },
  })
  const client = createDataverseClient({
    url: contoso.url,
    getToken: async (resource) => (await tokens.getToken({ tenantId: defaultIds.contosoTenantId, resource })).token,
    ca: emulator.caCertPem,
  })
  const me = await client.whoAmI()
  const page = await client.query('accounts', { select: ['name'], top: 2 })
  trustEmulatorGlobally(emulator.caCertPem)
  const metadata = await fetch(contoso.url + '/api/data/v9.2/$metadata', {
    headers: { authorization: 'Bearer ' + (await tokens.getToken({ tenantId: defaultIds.contosoTenantId, resource: contoso.url })).token },
  })
  const types = generate(parseMetadata(await metadata.text()), { tables: ['account'] })
  console.log(JSON.stringify({
    userId: me.userId,
    accounts: page.value.length,
    hono: typeof dataverseClient === 'function' && typeof resolveTenant === 'function',
    codegen: types.includes('export type Account = {'),
  }))
} finally {
  await emulator.stop()
}
`

const typed = `
import { clientSecret, createTokenProvider, type TokenProvider } from '@dataverse-s2s/core'
import { createDataverseClient, DataverseError, type DataverseClient } from '@dataverse-s2s/webapi'
import { startEmulator, type EmulatorHandle } from '@dataverse-s2s/emulator'
import { dataverseClient } from '@dataverse-s2s/hono'
import { generate, type MetadataModel } from '@dataverse-s2s/codegen'

const tokens: TokenProvider = createTokenProvider({ clientId: 'id', credential: clientSecret('s') })
const client: DataverseClient = createDataverseClient({
  url: 'https://contoso.crm.dynamics.com',
  getToken: async (resource) => (await tokens.getToken({ tenantId: 't', resource })).token,
})
const started: Promise<EmulatorHandle> = startEmulator({ port: 0 })
const code: DataverseError['code'] = 'HTTP'
const render: (model: MetadataModel) => string = (model) => generate(model, { tables: ['account'] })
// @ts-expect-error the published types reject a missing url
createDataverseClient({ getToken: async () => 'x' })
export { client, started, code, render, dataverseClient }
`

describe('the packed packages, installed with npm outside the workspace', () => {
  it('run an ESM program on Node: token, WhoAmI, a query, the Hono middleware and codegen', async () => {
    writeFileSync(join(project, 'smoke.mjs'), script)
    const { stdout } = await run(process.execPath, ['smoke.mjs'], { cwd: project, timeout: 30_000 })
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!)
    expect(result).toEqual({
      userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      accounts: 2,
      hono: true,
      codegen: true,
    })
  })

  it('type-check with tsc --noEmit against their published declarations (NodeNext)', async () => {
    writeFileSync(join(project, 'typed.ts'), typed)
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc')
    const result = await run(process.execPath, [tsc, '-p', '.'], { cwd: project, timeout: 50_000 }).then(
      () => 'ok',
      (error: { stdout: string; stderr: string; signal?: string }) =>
        `${error.signal ?? ''} ${error.stdout} ${error.stderr}`,
    )
    expect(result).toBe('ok')
  })

  it('install the command line: dataverse-s2s answers --help', async () => {
    const bin = join(project, 'node_modules', '.bin', 'dataverse-s2s')
    const { stdout } = await run(bin, ['--help'], { cwd: project, timeout: 30_000 })
    expect(stdout).toMatch(/Usage: dataverse-s2s/)
  })

  it('ship no tests and no workspace references', () => {
    const shipped = join(project, 'node_modules', '@dataverse-s2s')
    for (const pkg of published) {
      const manifest = JSON.parse(readFileSync(join(shipped, pkg, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>
      }
      for (const version of Object.values(manifest.dependencies ?? {}))
        expect(version).not.toMatch(/^workspace:/)
      expect(listFiles(join(shipped, pkg, 'src')).filter((f) => f.endsWith('.test.ts'))).toEqual([])
    }
    // A measurement, not a limit: the network decides it.
    console.log(`npm install of the tarballs took ${(npmInstallMs / 1000).toFixed(1)} s`)
  })
})

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
}
