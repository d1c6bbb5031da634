import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultIds, type EmulatorHandle, type OrgSeed, startEmulator } from '@dataverse-s2s/emulator'

export const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The real command line, from source (no build needed), as a child process. */
export const command = [
  process.execPath,
  '--conditions=@dataverse-s2s/source',
  '--import',
  'tsx',
  join(pkg, 'src', 'cli.ts'),
]

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** The app's credentials and a HOME without a config file. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: mkdtempSync(join(tmpdir(), 'cli-home-')),
    DATAVERSE_CLIENT_ID: defaultIds.multiTenantAppId,
    DATAVERSE_CLIENT_SECRET: defaultIds.multiTenantAppSecret,
    ...extra,
  }
}

/** Starts the CLI; `done` settles when it exits (killed after `timeoutMs`, so a hang fails fast). */
export function start(args: string[], env: Record<string, string> = baseEnv(), timeoutMs = 60_000) {
  const child: ChildProcess = spawn(command[0] as string, [...command.slice(1), ...args], {
    cwd: pkg,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString('utf8')
  })
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8')
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const done = new Promise<RunResult>((resolvePromise) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr })
    })
  })
  return { child, done, output: () => ({ stdout, stderr }) }
}

export function run(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<RunResult> {
  return start(args, env, timeoutMs).done
}

/** Waits until `check` holds, polling every 50 ms, failing after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** An emulator and the flags that point the CLI at it. */
export interface TestWorld {
  emulator: EmulatorHandle
  /** `--org <url> --authority-host <emulator> --ca <its CA>`. */
  flags(orgUrl: string): string[]
  orgUrl(uniqueName: string): string
  orgId(uniqueName: string): string
}

export async function startWorld(): Promise<TestWorld> {
  const emulator = await startEmulator({ port: 0 })
  const find = (uniqueName: string) => {
    const org = emulator.orgs.find((o) => o.uniqueName === uniqueName)
    if (!org) throw new Error(`no org ${uniqueName}`)
    return org
  }
  return {
    emulator,
    flags: (orgUrl) => ['--org', orgUrl, '--authority-host', emulator.url, '--ca', emulator.trust.caCertPath],
    orgUrl: (n) => find(n).url,
    orgId: (n) => find(n).id,
  }
}

/** A new org in Contoso with one custom table and the app as System Administrator. */
export async function createDataOrg(
  world: TestWorld,
  uniqueName: string,
): Promise<{ url: string; id: string }> {
  const dataverse: OrgSeed = {
    sampleData: false,
    tables: [
      {
        logicalName: 'new_item',
        primaryName: 'new_name',
        columns: [
          { name: 'new_name', type: 'string' },
          { name: 'new_n', type: 'integer' },
        ],
      },
    ],
    systemUsers: [{ applicationId: defaultIds.multiTenantAppId, roles: ['System Administrator'] }],
  }
  const org = await world.emulator.admin.createOrg({
    uniqueName,
    tenantId: defaultIds.contosoTenantId,
    dataverse,
  })
  return { url: org.url, id: org.id }
}
