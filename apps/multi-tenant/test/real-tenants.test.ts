import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { launchChromium } from '@dataverse-s2s/test-browser'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONNECTOR_ROLE, makeCertificate, startStandIn } from './stand-in.ts'

// docs/walkthroughs/real-tenants.md followed literally, with the emulator standing in for Azure: its own app
// registration as the page's table says, a second (customer) tenant with a Dataverse org, its admin and an ordinary
// user, the page's `.env` (plus the stand-in's authority host and CA), the sample started in entra mode, and Chromium
// through step 4. The doctor checks the same setup.
const appDir = fileURLToPath(new URL('..', import.meta.url))
const walkthrough = readFileSync(
  fileURLToPath(new URL('../../../docs/walkthroughs/real-tenants.md', import.meta.url)),
  'utf8',
)
const shots = fileURLToPath(new URL('../test-results/real-tenants-', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'mt-real-tenants-'))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
let world: Awaited<ReturnType<typeof startStandIn>>
let publicUrl: string
let sample: ChildProcess | undefined
let sampleOut = ''
let browser: Browser
let page: Page

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

/** The page's step 3 `.env` block, with the values of this run put in where the page has placeholders. */
function envOfPage(values: { clientId: string; tenantId: string; port: number }): string {
  const block = /## 3\.[\s\S]*?```ini\n([\s\S]*?)```/.exec(walkthrough)?.[1]
  if (!block) throw new Error('the page has no ini block in step 3')
  const env = block
    .replace('<application (client) id of step 1>', values.clientId)
    .replace('<directory (tenant) id of step 1>', values.tenantId)
    .replaceAll('5173', String(values.port))
  const left = /^[A-Z_]+=<[^>]*>/m.exec(env)
  if (left) throw new Error(`the page's .env has a placeholder this test does not fill: ${left[0]}`)
  return env
}

/** What the page's step 4 tells the reader to choose, in bold: the test clicks exactly these. */
const step4 = /## 4\.[\s\S]*?(?=\n## )/.exec(walkthrough)?.[0] ?? ''
const said = (label: string) => {
  expect(step4, `the page's step 4 names "${label}"`).toContain(`**${label}**`)
  return label
}

/** Runs a script of the sample as `pnpm --filter multi-tenant <script>` does, from `cwd` (where its `.env` is). */
function nodeArgs(script: string): string[] {
  return ['--conditions=@dataverse-s2s/source', '--import', tsx, join(appDir, script)]
}

async function pickAccount(upn: string) {
  await page.waitForSelector(`button[data-upn="${upn}"]`, { timeout: 20_000 })
  await page.click(`button[data-upn="${upn}"]`)
}

/** Accepts the consent page when Entra ID shows one; returns its text, or undefined when it went straight back. */
async function acceptIfAsked(): Promise<string | undefined> {
  const next = await Promise.race([
    page.waitForSelector('button[value=accept]', { timeout: 20_000 }).then(() => 'consent'),
    page.waitForURL((u) => u.origin === publicUrl, { timeout: 20_000 }).then(() => 'back'),
  ])
  if (next !== 'consent') return undefined
  const text = (await page.textContent('body'))?.replace(/\s+/g, ' ') ?? ''
  await page.click('button[value=accept]')
  return text
}

let step = 0
async function shot(name: string) {
  step += 1
  await page.screenshot({ path: `${shots}${String(step).padStart(2, '0')}-${name}.png`, fullPage: true })
}

beforeAll(async () => {
  const port = await freePort()
  publicUrl = `http://localhost:${port}`
  // 1. The app registration (the ISV's tenant), with a certificate as the page recommends
  const certificate = makeCertificate(dir, 'northwind-connector', { days: 365 })
  world = await startStandIn({ dir, publicUrl, certificate })
  mkdirSync(join(dir, 'secrets'))
  writeFileSync(
    join(dir, 'secrets', 'app.pem'),
    `${certificate.privateKeyPem}${certificate.certificatePem}`,
    {
      mode: 0o600,
    },
  )
  // 3. The settings: the page's block, plus the stand-in for Azure (the page's last section)
  writeFileSync(
    join(dir, '.env'),
    [
      envOfPage({ clientId: world.appId, tenantId: world.isv.id, port }),
      `ENTRA_AUTHORITY_HOST=${world.emulator.url}`,
      'ENTRA_CA_FILE=./stand-in-ca.pem',
      '',
    ].join('\n'),
  )
  // `pnpm --filter multi-tenant build && pnpm --filter multi-tenant start`, the start from the folder of the .env
  await build({ configFile: `${appDir}vite.config.ts`, logLevel: 'warn' })
  const env = { PATH: process.env.PATH ?? '', HOME: dir }
  sample = spawn(process.execPath, nodeArgs('src/server/main.ts'), {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sample did not start:\n${sampleOut}`)), 90_000)
    const onData = (chunk: Buffer) => {
      sampleOut += chunk.toString()
      if (sampleOut.includes('Multi-tenant sample:') && sampleOut.includes('Entra ID')) {
        clearTimeout(timer)
        resolve()
      }
    }
    sample?.stdout?.on('data', onData)
    sample?.stderr?.on('data', onData)
    sample?.once('exit', (code) => reject(new Error(`the sample exited (${code}):\n${sampleOut}`)))
  })
  browser = await launchChromium()
  // the stand-in's certificate is from its own CA, which this browser profile does not trust
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1100, height: 800 },
  })
  page = await context.newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  if (sample && sample.exitCode === null) {
    sample.kill('SIGTERM')
    await new Promise((r) => sample?.once('exit', r))
  }
  await world?.emulator.stop()
})

describe('docs/walkthroughs/real-tenants.md with the emulator standing in for Azure', () => {
  it('the sample runs in entra mode on the page’s settings, against the stand-in and none of the emulator’s defaults', async () => {
    expect(sampleOut).toContain(`Multi-tenant sample: ${publicUrl}`)
    expect(sampleOut).toContain(`Using Entra ID at ${world.emulator.url}`)
    const config = (await (await fetch(`${publicUrl}/api/config`)).json()) as Record<string, unknown>
    expect(config).toMatchObject({
      mode: 'entra',
      clientId: world.appId,
      authority: `${world.emulator.url}/organizations`,
      apiScope: `api://${world.appId}/access_as_user`,
      redirectUri: publicUrl,
    })
    expect(config.discoveryUrl).toBeUndefined()
  })

  it('the doctor passes every step on the same .env', async () => {
    const run = await promisify(execFile)(process.execPath, nodeArgs('src/doctor/main.ts'), {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      timeout: 60_000,
    })
    expect(run.stdout).toContain('All checks passed.')
    for (const s of [
      'settings',
      'OIDC discovery',
      'credential',
      'redirect URIs',
      'security role',
      'certificate',
    ])
      expect(run.stdout).toContain(`[ok  ] ${s}:`)
    expect(run.stdout).toContain(
      `Single-page application redirect URI ${publicUrl} and the Web redirect URI ${publicUrl}/onboarding/callback`,
    )
    expect(run.stdout).not.toMatch(/PRIVATE KEY|eyJ[\w-]{10,}\./)
  }, 60_000)

  it('step 4: the customer’s admin connects the org, then the ordinary user sees its accounts', async () => {
    const { org } = world
    await page.goto(publicUrl)
    await page.waitForSelector('header a:has-text("Connect your organization")')
    expect(await page.textContent('#view')).not.toContain('Running on the local emulator')
    await shot('home')
    // 4.1 Connect your organization: the admin signs in first (the org URL field comes after the sign-in)
    await page.click(`header a:has-text("${said('Connect your organization')}")`)
    await page.click(`button:has-text("${said('Sign in as administrator')}")`)
    await pickAccount(world.customerAdmin.userPrincipalName)
    // signing in to an app new to the tenant asks the admin's consent, on behalf of the organization: sign-in and the
    // app's own access_as_user, which the tenant's users need too
    const signInConsent = await acceptIfAsked()
    expect(signInConsent).toContain('on behalf of your organization')
    said('Consent on behalf of your organization')
    expect(signInConsent).toContain(`api://${world.appId}/access_as_user`)
    await page.waitForSelector('input[name=orgUrl]', { timeout: 20_000 })
    // 4.2 the org URL, then the admin consent
    await page.fill('input[name=orgUrl]', org.url)
    await shot('org-url')
    await page.click(`button:has-text("${said('Continue to admin consent')}")`)
    await page.waitForSelector('button[value=accept]', { timeout: 20_000 })
    await shot('admin-consent')
    await page.click('button[value=accept]')
    // 4.3 back in the sample: Set up automatically creates the application user with the role and checks it as the app
    await page.waitForSelector('#provision', { timeout: 20_000 })
    expect(await page.textContent('#view')).toContain(`the role "${CONNECTOR_ROLE}"`)
    expect(await page.textContent('#provision')).toBe(said('Set up automatically'))
    await page.click('#provision')
    await page.waitForSelector('.ok:has-text("Connected")', { timeout: 30_000 })
    await shot('connected')
    // as the page's step 2 says: the application user holds the role named by DATAVERSE_ROLE
    // (read as the customer's admin: the app's role does not read roles)
    const adminToken = await world.emulator.world.mintUserAccessToken({
      userObjectId: world.customerAdmin.objectId,
      appId: world.appId,
      resource: org.url,
    })
    const res = await fetch(
      `${org.url}/api/data/v9.2/systemusers?$select=applicationid&$filter=applicationid eq ${world.appId}&$expand=systemuserroles_association($select=name)`,
      {
        headers: { authorization: `Bearer ${adminToken}` },
        dispatcher: world.emulator.trust.agent,
      } as RequestInit,
    )
    const users = (await res.json()) as { value: { systemuserroles_association: { name: string }[] }[] }
    expect(res.status, JSON.stringify(users)).toBe(200)
    expect(users.value.map((u) => u.systemuserroles_association.map((r) => r.name))).toEqual([
      [CONNECTOR_ROLE],
    ])
    // 4.4 the ordinary user of that tenant opens Accounts
    await page.click('header button:has-text("Sign out")')
    await page.waitForURL((u) => u.origin === publicUrl, { timeout: 20_000 }).catch(() => undefined)
    if (!page.url().startsWith(publicUrl)) await page.goto(publicUrl)
    await page.click('header button:has-text("Sign in")')
    await pickAccount(world.user.userPrincipalName)
    // the admin consented for everyone: the ordinary user is not asked (a tenant that blocks user consent is fine)
    expect(await acceptIfAsked()).toBeUndefined()
    await page.waitForSelector('#who', { timeout: 20_000 })
    await page.click(`header a:has-text("${said('Accounts')}")`)
    await page.waitForSelector('table[aria-label="Accounts"] tbody tr', { timeout: 20_000 })
    const names = await page.$$eval('table[aria-label="Accounts"] tbody tr td:first-child', (tds) =>
      tds.map((td) => td.textContent ?? ''),
    )
    expect(names.sort()).toEqual(['Adatum Corporation', 'Adatum Logistics', 'Adatum Research'])
    await shot('accounts')
  }, 180_000)
})
