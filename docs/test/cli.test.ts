// The shell examples of the command-line guides (docs/snippets/cli/*.sh) run here, line by line, against the
// emulator, with `dataverse-s2s` on the PATH (the CLI from source) and a profile that points it at the emulator.
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docsDir, repoDir } from './site.ts'

const snippets = join(docsDir, 'snippets', 'cli')
const cliSource = join(
  dirname(createRequire(import.meta.url).resolve('@dataverse-s2s/cli/package.json')),
  'src',
  'cli.ts',
)
const work = mkdtempSync(join(tmpdir(), 'docs-cli-'))
const bin = join(work, 'bin')

let emulator: EmulatorHandle
let env: Record<string, string>

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  mkdirSync(bin)
  writeFileSync(
    join(bin, 'dataverse-s2s'),
    `#!/bin/sh\nexec "${process.execPath}" --conditions=@dataverse-s2s/source --import "${join(repoDir, 'node_modules', 'tsx', 'dist', 'loader.mjs')}" "${cliSource}" "$@"\n`,
  )
  chmodSync(join(bin, 'dataverse-s2s'), 0o755)
  // the guide's config file, with this run's emulator origin and CA
  const config = join(work, 'config.json')
  const shown = JSON.parse(readFileSync(join(snippets, 'config.json'), 'utf8'))
  expect(shown.profiles.emulator).toMatchObject({
    clientId: defaultIds.multiTenantAppId,
    clientSecret: defaultIds.multiTenantAppSecret,
  })
  shown.profiles.emulator.authorityHost = emulator.url
  shown.profiles.emulator.ca = emulator.trust.caCertPath
  writeFileSync(config, JSON.stringify(shown))
  env = {
    PATH: `${bin}:${process.env['PATH'] ?? ''}`,
    HOME: work,
    DATAVERSE_S2S_CONFIG: config,
    DATAVERSE_PROFILE: 'emulator',
  }
})
afterAll(async () => {
  await emulator?.stop()
})

/** The commands of a snippet: its lines without comments and blanks. */
function commands(name: string): string[] {
  return readFileSync(join(snippets, name), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs one line with sh in `cwd`; `during` may act while it runs (e.g. play the user of a device code). */
function sh(
  line: string,
  extra: Record<string, string>,
  cwd: string,
  during?: (child: ChildProcess, out: () => Ran) => Promise<void>,
) {
  const child = spawn('sh', ['-c', line], {
    cwd,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const ran: Ran = { code: null, stdout: '', stderr: '' }
  child.stdout.on('data', (c: Buffer) => {
    ran.stdout += c.toString('utf8')
  })
  child.stderr.on('data', (c: Buffer) => {
    ran.stderr += c.toString('utf8')
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const closed = new Promise<Ran>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer)
      ran.code = code
      resolve(ran)
    }),
  )
  return Promise.all([closed, during?.(child, () => ran)]).then(([r]) => r)
}

function post(url: string, fields: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: emulator.caCertPem,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8')
        })
        res.on('end', () => resolve(text))
      },
    )
    req.on('error', reject)
    req.end(new URLSearchParams(fields).toString())
  })
}

const contoso = () => emulator.orgs.find((o) => o.uniqueName === 'contoso')?.url ?? ''

describe('command-line guides', () => {
  it('identity.sh: discover, consent-url, token, whoami', async () => {
    const lines = commands('identity.sh')
    expect(lines).toHaveLength(4)
    const out: Ran[] = []
    for (const line of lines) out.push(await sh(line, { ORG: contoso() }, work))
    for (const r of out) expect(r.code, r.stderr).toBe(0)
    expect(out[0]?.stdout).toContain(defaultIds.contosoTenantId)
    expect(out[1]?.stdout).toMatch(/\/v2\.0\/adminconsent\?client_id=/)
    expect(out[2]?.stdout).toMatch(/^idtyp\s+app$/m)
    expect(JSON.parse(out[3]?.stdout ?? '')).toMatchObject({ applicationId: defaultIds.multiTenantAppId })
  }, 180_000)

  it('access.sh: check fails, provision with a device code, check passes', async () => {
    const org = await emulator.admin.createOrg({
      uniqueName: 'docs-new',
      tenantId: defaultIds.fabrikamTenantId,
    })
    const [check, provision, recheck] = commands('access.sh')
    const before = await sh(check as string, { ORG: org.url }, work)
    expect(before.stdout).toContain('check exited with 3')
    const admin = 'admin@fabrikam.onmicrosoft.com'
    const provisioned = await sh(provision as string, { ORG: org.url }, work, async (_child, out) => {
      const deadline = Date.now() + 30_000
      while (!/enter the code \w+/.test(out().stderr)) {
        if (Date.now() > deadline || out().code !== null)
          throw new Error(`no device code prompt: ${out().stderr}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      const code = /enter the code (\w+)/.exec(out().stderr)?.[1] as string
      const page = /open the page (\S+)/.exec(out().stderr)?.[1] as string
      await post(page, { __step: 'code', otc: code })
      await post(page, { __step: 'signin', otc: code, login: admin })
      await post(page, { __step: 'approve', otc: code, login: admin, consent: 'accept' })
    })
    expect(provisioned.code, provisioned.stderr).toBe(0)
    expect(provisioned.stdout).toContain('Created application user')
    const after = await sh(recheck as string, { ORG: org.url }, work)
    expect(after.code, after.stdout).toBe(0)
    expect(after.stdout).toContain('Everything the app needs is in place.')
  }, 180_000)

  it('data.sh: query, FetchXML to CSV, export and import into another org', async () => {
    const target = await emulator.admin.createOrg({
      uniqueName: 'docs-target',
      tenantId: defaultIds.contosoTenantId,
      dataverse: {
        sampleData: false,
        systemUsers: [{ applicationId: defaultIds.multiTenantAppId, roles: ['System Administrator'] }],
      },
    })
    const dir = mkdtempSync(join(work, 'data-'))
    copyFileSync(join(snippets, 'top-accounts.xml'), join(dir, 'top-accounts.xml'))
    const vars = { ORG: contoso(), TARGET: target.url }
    const [query, fetch, exported, imported] = commands('data.sh')
    const q = await sh(query as string, vars, dir)
    expect(q.code, q.stderr).toBe(0)
    const rows = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { revenue: number })
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.revenue > 50_000)).toBe(true)
    const f = await sh(fetch as string, vars, dir)
    expect(f.code, f.stderr).toBe(0)
    const csv = readFileSync(join(dir, 'top-accounts.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toMatch(/^(name,revenue|revenue,name),accountid$/)
    expect(csv.length).toBeGreaterThan(1)
    const revenue = (csv[0] as string).split(',').indexOf('revenue')
    for (const line of csv.slice(1)) expect(Number(line.split(',')[revenue])).toBeGreaterThan(90_000)
    const e = await sh(exported as string, vars, dir)
    expect(e.code, e.stderr).toBe(0)
    const contacts = readFileSync(join(dir, 'contacts.csv'), 'utf8').trim().split('\n')
    expect(contacts[0]).toBe('contactid,firstname,lastname,emailaddress1')
    const i = await sh(imported as string, vars, dir)
    expect(i.code, i.stderr).toBe(0)
    expect(i.stdout).toContain(`Upserted ${contacts.length - 1} rows in contact`)
    expect(emulator.admin.org(target.id).data.count('contact')).toBe(contacts.length - 1)
  }, 180_000)

  it('emulator.sh: starts the emulator and stops on Ctrl-C', async () => {
    const [line] = commands('emulator.sh')
    const state = mkdtempSync(join(work, 'emu-'))
    const ran = await sh(`exec ${line as string}`, {}, state, async (child, out) => {
      const deadline = Date.now() + 30_000
      while (!out().stdout.includes('Press Ctrl+C to stop.')) {
        if (Date.now() > deadline || out().code !== null)
          throw new Error(`the emulator did not start: ${out().stderr}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      child.kill('SIGINT')
    })
    expect(ran.code).toBe(0)
    expect(ran.stdout).toMatch(/Entra ID\s+https:\/\/localhost:\d+/)
  }, 180_000)
})
