// Every command of the real `dataverse-s2s` binary (run from source as a child process) against the emulator.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { baseEnv, run, start, startWorld, type TestWorld, until } from './support.ts'

let world: TestWorld
let contoso: string
let fabrikam: string
const work = mkdtempSync(join(tmpdir(), 'cli-test-'))
const ANSI = '\u001b['

beforeAll(async () => {
  world = await startWorld()
  contoso = world.orgUrl('contoso')
  fabrikam = world.orgUrl('fabrikam')
})
afterAll(async () => {
  await world?.emulator.stop()
})

describe('token, whoami, consent-url, discover', () => {
  it('token shows the decoded claims, never the token or the secret, unless --raw', async () => {
    const res = await run(['token', ...world.flags(contoso)])
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/^aud\s+https:\/\/localhost:\d+$/m)
    expect(res.stdout).toMatch(new RegExp(`^appid\\s+${defaultIds.multiTenantAppId}$`, 'm'))
    expect(res.stdout).toMatch(/^uti\s+<redacted>$/m)
    expect(res.stdout).not.toMatch(/eyJ[\w-]+\.eyJ/)
    expect(res.stdout + res.stderr).not.toContain(defaultIds.multiTenantAppSecret)
    expect(res.stdout + res.stderr).not.toContain(ANSI)
    const raw = await run(['token', ...world.flags(contoso), '--raw', '--json'])
    const body = JSON.parse(raw.stdout) as { accessToken: string }
    expect(body.accessToken.split('.')).toHaveLength(3)
    const json = JSON.parse((await run(['token', ...world.flags(contoso), '--json'])).stdout)
    expect(json.claims).toMatchObject({ tid: defaultIds.contosoTenantId, idtyp: 'app' })
  })

  it('whoami answers WhoAmI as the application user', async () => {
    const res = await run(['whoami', ...world.flags(contoso), '--json'])
    expect(res.code).toBe(0)
    const body = JSON.parse(res.stdout)
    expect(body).toMatchObject({
      tenantId: defaultIds.contosoTenantId,
      applicationId: defaultIds.multiTenantAppId,
    })
    expect(body.userId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('consent-url builds the admin-consent URL from a tenant or an org', async () => {
    const byTenant = await run([
      'consent-url',
      '--tenant',
      defaultIds.fabrikamTenantId,
      '--authority-host',
      world.emulator.url,
    ])
    expect(byTenant.code).toBe(0)
    const u = new URL(byTenant.stdout.trim())
    expect(u.pathname).toBe(`/${defaultIds.fabrikamTenantId}/adminconsent`)
    expect(u.searchParams.get('client_id')).toBe(defaultIds.multiTenantAppId)
    const byOrg = await run(['consent-url', ...world.flags(fabrikam), '--json'])
    const url = new URL(JSON.parse(byOrg.stdout).url)
    expect(url.pathname).toBe(`/${defaultIds.fabrikamTenantId}/v2.0/adminconsent`)
    expect(url.searchParams.get('scope')).toBe(`${fabrikam}/.default`)
    const both = await run(['consent-url', '--tenant', 'x', ...world.flags(fabrikam)])
    expect(both.code).toBe(2)
  })

  it('discover finds the tenant and authority of an org without credentials', async () => {
    const res = await run(['discover', ...world.flags(fabrikam), '--json'], {
      PATH: process.env['PATH'] ?? '',
    })
    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({
      tenantId: defaultIds.fabrikamTenantId,
      authority: `${world.emulator.url}/${defaultIds.fabrikamTenantId}`,
    })
  })
})

describe('check', () => {
  it('passes (exit 0) when the application user can read what it must', async () => {
    const res = await run(['check', ...world.flags(contoso), '--read', 'accounts,contacts'])
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('✓ app user')
    expect(res.stdout).toContain('Everything the app needs is in place.')
  })

  it('exits 3 with the consent fix in a tenant that never consented', async () => {
    const res = await run(['check', ...world.flags(fabrikam), '--json'])
    expect(res.code).toBe(3)
    const body = JSON.parse(res.stdout)
    expect(body.ok).toBe(false)
    expect(body.problems[0]).toMatchObject({ kind: 'NO_TOKEN' })
    expect(body.problems[0].message).toContain('APP_NOT_FOUND_IN_TENANT')
    expect(body.problems[0].fix).toContain('consent-url')
  })

  it('exits 3 and says to provision when the application user is disabled', async () => {
    world.emulator.admin.setApplicationUserDisabled(world.orgId('contoso'), defaultIds.multiTenantAppId, true)
    try {
      const res = await run(['check', ...world.flags(contoso)])
      expect(res.code).toBe(3)
      expect(res.stdout).toMatch(
        /✗ NO_APPLICATION_USER: .*\n {2}fix: As an admin of the org: dataverse-s2s provision --org/,
      )
    } finally {
      world.emulator.admin.setApplicationUserDisabled(
        world.orgId('contoso'),
        defaultIds.multiTenantAppId,
        false,
      )
    }
  })
})

describe('query', () => {
  it('writes NDJSON when stdout is not a terminal, CSV or JSON on request', async () => {
    const args = [
      'query',
      'accounts',
      ...world.flags(contoso),
      '--select',
      'name,accountid',
      '--orderby',
      'name',
      '--top',
      '3',
    ]
    const ndjson = await run(args)
    expect(ndjson.code).toBe(0)
    const lines = ndjson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3)
    expect(Object.keys(lines[0]).sort()).toEqual(['accountid', 'name'])
    const csv = await run([...args, '--format', 'csv'])
    const rows = csv.stdout.trim().split('\n')
    expect(rows[0]).toBe('name,accountid')
    expect(rows[1]).toBe(`${lines[0].name},${lines[0].accountid}`)
    const json = await run([...args, '--json'])
    expect(JSON.parse(json.stdout)).toEqual(lines)
    const table = await run([...args, '--format', 'table'])
    expect(table.stdout.split('\n')[0]).toMatch(/^name\s+accountid$/)
    expect(table.stdout).toContain('(3 rows)')
  })

  it('runs a FetchXML file, finding the entity set from the entity name', async () => {
    const file = join(work, 'top.xml')
    writeFileSync(
      file,
      '<fetch count="2"><entity name="account"><attribute name="name"/><order attribute="name"/></entity></fetch>',
    )
    const res = await run(['query', ...world.flags(contoso), '--fetchxml', file, '--json'])
    expect(res.code).toBe(0)
    const rows = JSON.parse(res.stdout) as { name: string }[]
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => typeof r.name === 'string')).toBe(true)
  })
})

describe('errors', () => {
  it('prints one line of cause and one of fix, never the secret, and JSON with --json', async () => {
    const env = baseEnv({ DATAVERSE_CLIENT_SECRET: 'not-the-right-secret-value' })
    const res = await run(['whoami', ...world.flags(contoso)], env)
    expect(res.code).toBe(1)
    const lines = res.stderr.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^error \[INVALID_CLIENT_SECRET\] /)
    expect(lines[1]).toMatch(/^fix: Set DATAVERSE_CLIENT_SECRET/)
    expect(res.stdout + res.stderr).not.toContain('not-the-right-secret-value')
    const json = await run(['whoami', ...world.flags(contoso), '--json'], env)
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'INVALID_CLIENT_SECRET' } })
  })

  it('exits 2 on a usage mistake and names the missing credentials', async () => {
    expect((await run(['whoami'])).code).toBe(2)
    const bogus = await run(['whoami', '--bogus'])
    expect(bogus.code).toBe(2)
    expect(bogus.stderr).toContain("unknown option '--bogus'")
    const noCreds = await run(['whoami', ...world.flags(contoso)], { PATH: process.env['PATH'] ?? '' })
    expect(noCreds.code).toBe(1)
    expect(noCreds.stderr).toMatch(/^error \[INVALID_OPTIONS\] DATAVERSE_CLIENT_ID is not set/)
  })
})

describe('profiles', () => {
  it('reads the app registration from a named profile and never lists its secret', async () => {
    const config = join(work, 'config.json')
    writeFileSync(
      config,
      JSON.stringify({
        profiles: {
          contoso: {
            clientId: defaultIds.multiTenantAppId,
            clientSecret: defaultIds.multiTenantAppSecret,
            org: contoso,
            authorityHost: world.emulator.url,
            ca: world.emulator.trust.caCertPath,
          },
        },
      }),
    )
    const env = { PATH: process.env['PATH'] ?? '', DATAVERSE_S2S_CONFIG: config }
    const who = await run(['whoami', '--profile', 'contoso', '--json'], env)
    expect(who.code).toBe(0)
    expect(JSON.parse(who.stdout)).toMatchObject({ org: contoso, tenantId: defaultIds.contosoTenantId })
    const list = await run(['profiles'], env)
    expect(list.stdout).toContain('contoso: client')
    expect(list.stdout).not.toContain(defaultIds.multiTenantAppSecret)
    const missing = await run(['whoami', '--profile', 'nope'], env)
    expect(missing.stderr).toMatch(/^error \[CONFIG\] No profile "nope"/)
  })
})

describe('emulator', () => {
  it('starts the emulator with the flags of pnpm emulator and stops on Ctrl-C', async () => {
    const state = mkdtempSync(join(tmpdir(), 'cli-emu-'))
    const emu = start(['emulator', '--port', '0', '--no-persist', '--json', '--state', state])
    await until(() => emu.output().stdout.includes('\n'), 30_000, 'the emulator to print its JSON line')
    const info = JSON.parse(emu.output().stdout.split('\n')[0] as string) as { url: string; orgs: unknown[] }
    expect(info.url).toMatch(/^https:\/\/localhost:\d+$/)
    expect(info.orgs.length).toBeGreaterThan(0)
    emu.child.kill('SIGINT')
    const res = await emu.done
    expect(res.code).toBe(0)
  })
})
