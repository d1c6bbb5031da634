// Every shell command shown in the quickstart and the walkthroughs is run here, from a fresh clone of this
// repository, so that a newcomer who copies them gets what the pages promise. A command that appears on a page
// but has no runner below fails the test.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { launchChromium } from '@dataverse-s2s/test-browser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docsDir, repoDir } from './site.ts'

// In the order a newcomer meets them: the walkthrough starts from the clone.
const pages = ['walkthroughs/multi-tenant.md', 'start/quickstart.md', 'walkthroughs/single-tenant.md']

/** The commands of a page: every line of its ```sh blocks. */
export function shellCommands(markdown: string): string[] {
  const commands: string[] = []
  let inShell = false
  for (const raw of markdown.split('\n')) {
    const line = raw.trim()
    if (!inShell && /^```(sh|bash|shell)\s*$/.test(line)) inShell = true
    else if (inShell && line.startsWith('```')) inShell = false
    else if (inShell && line && !line.startsWith('#')) commands.push(line)
  }
  return commands
}

const work = mkdtempSync(join(tmpdir(), 'docs-commands-'))
const clone = join(work, 'dataverse-s2s')
const resultsDir = join(docsDir, 'test-results')

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1', TURBO_TELEMETRY_DISABLED: '1' },
    timeout: 300_000,
  })
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** How each command of the pages is run. The key is the command exactly as the page shows it. */
const runners: Record<string, () => Promise<void> | void> = {
  // A fresh clone of this repository (the published URL is outside loopback): its committed state.
  'git clone https://github.com/dataverse-s2s/dataverse-s2s.git': () => {
    run('git', ['clone', '--quiet', repoDir, clone], work)
    expect(existsSync(join(clone, 'package.json'))).toBe(true)
  },
  'cd dataverse-s2s': () => {
    expect(existsSync(clone)).toBe(true)
  },
  // Installing pnpm globally would reach the registry: check that the pinned version is the one installed.
  'npm install -g pnpm@10.34.9': () => {
    expect(run('pnpm', ['--version'], work).trim()).toBe('10.34.9')
  },
  // The same install, from the local store and the committed lockfile, as CI does.
  'pnpm install': () => {
    run('pnpm', ['install', '--frozen-lockfile', '--offline', '--reporter=silent'], clone)
    expect(existsSync(join(clone, 'node_modules'))).toBe(true)
  },
  'pnpm --filter docs quickstart': () => {
    const out = run('pnpm', ['--filter', 'docs', 'quickstart'], clone)
    expect(out).toMatch(/Entra ID on https:\/\/localhost:\d+, Contoso's org on https:\/\/localhost:\d+/)
    expect(out).toMatch(/Signed in to Contoso as the application user [0-9a-f-]{36}/)
    expect(out.match(/^- .+ \(.+\)$/gm)).toHaveLength(5)
  },
  'pnpm start': startAndSeeData,
  'pnpm --filter single-tenant start': startSingleTenantAndSeeData,
  // The job on its own starts a temporary emulator and exports every contact of the first environment.
  'pnpm --filter single-tenant job': () => {
    const out = join(clone, 'apps', 'single-tenant', 'reports', 'contacts.ndjson')
    rmSync(out, { force: true })
    run('pnpm', ['--filter', 'single-tenant', 'job'], clone)
    const lines = readFileSync(out, 'utf8').trim().split('\n')
    const ids = lines.map((l) => (JSON.parse(l) as { contactid: string }).contactid)
    expect(ids.length).toBeGreaterThan(0)
    expect(new Set(ids).size).toBe(ids.length)
  },
  'openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 -subj "/CN=Litware Connector"':
    () => selfSigned('Litware Connector'),
  'openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 -subj "/CN=Contoso Back Office"':
    () => selfSigned('Contoso Back Office'),
}

function selfSigned(cn: string) {
  const dir = mkdtempSync(join(work, 'cert-'))
  run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '365',
      '-subj',
      `/CN=${cn}`,
    ],
    dir,
  )
  expect(readFileSync(join(dir, 'key.pem'), 'utf8')).toContain('-----BEGIN PRIVATE KEY-----')
  expect(run('openssl', ['x509', '-in', 'cert.pem', '-noout', '-subject'], dir)).toContain(cn)
}

let server: ChildProcess | undefined

/**
 * Starts a long-running command in the clone, as its own process group, and waits for the URL it prints.
 * The ports it needs must be free first; the group dies with vitest even if vitest is killed.
 */
async function startInClone(
  args: string[],
  ports: number[],
  printed: RegExp,
): Promise<{ url: string; output: () => string }> {
  for (const port of ports) {
    if (await portInUse(port))
      throw new Error(`port ${port} is taken by another process: pnpm ${args.join(' ')} needs it free`)
  }
  const child = spawn('pnpm', args, { cwd: clone, detached: true, env: { ...process.env, CI: '1' } })
  server = child
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {}
  }
  process.once('exit', killGroup)
  child.once('exit', () => process.off('exit', killGroup))
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pnpm ${args.join(' ')} printed no URL:\n${output}`)),
      240_000,
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = printed.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`pnpm ${args.join(' ')} exited (${code}):\n${output}`)))
  })
  return { url, output: () => output }
}

/** `pnpm start`, as a newcomer runs it: wait for the URL it prints, open it, sign in as Alice, see Contoso's data. */
async function startAndSeeData() {
  const started = await startInClone(
    ['start'],
    [5173, 8443, 8444, 8445],
    /Multi-tenant sample: (http:\/\/localhost:\d+)/,
  )
  const url = started.url
  expect(url).toBe('http://localhost:5173')
  const browser = await launchChromium()
  try {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage()
    page.on('dialog', (dialog) => void dialog.accept())
    const pick = async (upn: string) => {
      await page.waitForSelector(`button[data-upn="${upn}"]`, { timeout: 30_000 })
      await page.click(`button[data-upn="${upn}"]`)
    }
    const signIn = async (upn: string) => {
      await page.click('header button:has-text("Sign in")')
      await pick(upn)
    }
    const signOut = async () => {
      await page.click('header button:has-text("Sign out")')
      await page.waitForURL((u) => u.origin === url, { timeout: 30_000 }).catch(() => undefined)
      if (!page.url().startsWith(url)) await page.goto(url)
      await page.waitForSelector('header button:has-text("Sign in")', { timeout: 30_000 })
    }
    const accountRows = async () => {
      const rows = page.locator('table[aria-label="Accounts"] tbody tr')
      await rows.first().waitFor({ timeout: 30_000 })
      return rows.count()
    }
    mkdirSync(resultsDir, { recursive: true })

    // Step 1 of the page: Alice sees Contoso's data.
    await page.goto(url)
    await signIn('alice@contoso.onmicrosoft.com')
    expect(await accountRows()).toBeGreaterThan(0)
    await page.screenshot({ path: join(resultsDir, 'walkthrough-data-on-screen.png'), fullPage: true })
    await signOut()

    // Step 2: connect Fabrikam as its administrator, with the org URL the page gives.
    expect(started.output()).toContain('Fabrikam https://localhost:8445')
    // The admin signs in first (accepting the sign-in for a tenant new to the app), then gives the org URL.
    await page.click('header a:has-text("Connect your organization")')
    await page.click('button:has-text("Sign in as administrator")')
    await pick('admin@fabrikam.onmicrosoft.com')
    await page.click('button[value=accept]', { timeout: 30_000 })
    await page.fill('input[name=orgUrl]', 'https://localhost:8445', { timeout: 30_000 })
    await page.click('button:has-text("Continue to admin consent")')
    await page.click('button[value=accept]', { timeout: 30_000 })
    await page.waitForSelector('text=Admin consent recorded', { timeout: 30_000 })
    await page.click('#provision', { timeout: 30_000 })
    await page.waitForSelector('.ok:has-text("Connected")', { timeout: 60_000 })
    await signOut()

    // Step 4: Carol sees Fabrikam's data.
    await signIn('carol@fabrikam.onmicrosoft.com')
    expect(await accountRows()).toBeGreaterThan(0)
    await page.screenshot({ path: join(resultsDir, 'walkthrough-fabrikam-connected.png'), fullPage: true })
  } finally {
    await browser.close()
    await stopServer()
  }
}

/** The single-tenant walkthrough's step 0: start the sample, sign in as Alice, see the dev environment's data. */
async function startSingleTenantAndSeeData() {
  const { url } = await startInClone(
    ['--filter', 'single-tenant', 'start'],
    [3001, 8443],
    /single-tenant app on (http:\/\/localhost:\d+)/,
  )
  expect(url).toBe('http://localhost:3001')
  const browser = await launchChromium()
  try {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage()
    await page.goto(url)
    await page.getByRole('link', { name: 'Sign in' }).click()
    await page.locator('button[data-upn="alice@contoso.onmicrosoft.com"]').click({ timeout: 30_000 })
    await page.waitForURL(`${url}/`, { timeout: 30_000 })
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Alice Anderson')
    expect(await page.getByTestId('current-environment').textContent()).toBe('dev')
    expect(await page.getByTestId('accounts-read').textContent()).toMatch(/^[1-9]\d* accounts$/)
    mkdirSync(resultsDir, { recursive: true })
    await page.screenshot({ path: join(resultsDir, 'walkthrough-single-tenant.png'), fullPage: true })
  } finally {
    await browser.close()
    await stopServer()
  }
}

async function stopServer() {
  const child = server
  server = undefined
  if (!child?.pid || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(-child.pid, 'SIGTERM') // the whole group: pnpm, the start script, the server
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
  if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL')
}

beforeAll(() => {
  mkdirSync(work, { recursive: true })
})

afterAll(async () => {
  await stopServer()
  rmSync(work, { recursive: true, force: true })
})

describe('the commands of the quickstart and the walkthroughs', () => {
  const byPage = pages.map((page) => ({
    page,
    commands: shellCommands(readFileSync(join(docsDir, page), 'utf8')),
  }))

  it('are all known to this test', () => {
    for (const { page, commands } of byPage) {
      expect(commands.length, page).toBeGreaterThan(0)
      for (const command of commands) expect(Object.keys(runners), `${page}: ${command}`).toContain(command)
    }
  })

  it('work, in the order the walkthroughs and the quickstart give them, from a fresh clone', async () => {
    const done = new Set<string>()
    for (const { commands } of byPage) {
      for (const command of commands) {
        if (done.has(command)) continue
        done.add(command)
        await runners[command]?.()
      }
    }
    expect(done.has('pnpm start')).toBe(true)
    expect(done.has('pnpm --filter single-tenant start')).toBe(true)
  }, 900_000)
})
