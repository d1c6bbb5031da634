import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppConfig } from '../src/config.ts'
import { createEnvironments } from '../src/dataverse.ts'
import { type EmulatorWorld, emulatorConfig, prepareEmulator } from '../src/emulator-setup.ts'
import { parseJobArgs } from '../src/job/options.ts'
import { runJob } from '../src/job/run.ts'

const ROWS = 20_000
const appDir = new URL('..', import.meta.url).pathname

let handle: EmulatorHandle
let world: EmulatorWorld
let config: AppConfig
let dir: string
let childEnv: NodeJS.ProcessEnv

beforeAll(async () => {
  handle = await startEmulator({ port: 0 })
  world = await prepareEmulator(handle)
  config = emulatorConfig(handle, world, { port: 0 })
  dir = await mkdtemp(join(tmpdir(), 'single-tenant-job-'))
  const existing = handle.admin.org(world.orgs.dev.id).data.count('contacts')
  const rows = Array.from({ length: ROWS - existing }, (_, i) => ({
    firstname: `Report${i}`,
    lastname: i % 7 === 0 ? 'O\'Brien, "Jr."' : `Row ${i}`,
    emailaddress1: `report.${i}@contoso.example`,
  }))
  for (let i = 0; i < rows.length; i += 5_000)
    handle.admin.insertRows(world.orgs.dev.id, 'contacts', rows.slice(i, i + 5_000))
  expect(handle.admin.org(world.orgs.dev.id).data.count('contacts')).toBe(ROWS)

  // The child process is configured like a real deployment: files and environment variables only.
  await writeFile(join(dir, 'cert.pem'), config.certificatePem)
  await writeFile(join(dir, 'key.pem'), config.privateKeyPem, { mode: 0o600 })
  await writeFile(join(dir, 'ca.pem'), config.caPem ?? '')
  childEnv = {
    PATH: process.env['PATH'],
    USE_EMULATOR: 'false',
    ENV_FILE: 'none',
    TENANT_ID: config.tenantId,
    CLIENT_ID: config.clientId,
    AUTHORITY_HOST: config.authorityHost,
    CLIENT_CERTIFICATE_PATH: join(dir, 'cert.pem'),
    CLIENT_PRIVATE_KEY_PATH: join(dir, 'key.pem'),
    EXTRA_CA_CERTS_PATH: join(dir, 'ca.pem'),
    DATAVERSE_ENVIRONMENTS: config.environments.map((e) => `${e.name}=${e.url}`).join(','),
  }
}, 120_000)

afterAll(async () => {
  await handle?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function readLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l.length > 0)
}

function expectExactlyOnce(lines: string[]) {
  expect(lines).toHaveLength(ROWS)
  const ids = lines.map((l) => JSON.parse(l).contactid as string)
  expect(new Set(ids).size).toBe(ROWS)
}

describe('report job against the emulator', () => {
  it('writes exactly 20,000 lines while the org throttles, fails and drops connections', async () => {
    const output = join(dir, 'faulty.ndjson')
    const options = parseJobArgs(['--environment', 'dev', '--output', output, '--page-size', '500'])
    if (options === 'help') throw new Error('unexpected')
    // A fake clock for the client's waits: a wait moves it forward at once, so the 1 s Retry-After of the 429s is
    // honoured (recorded below) without waiting for it in real time.
    let offset = 0
    const waits: number[] = []
    const clock = {
      now: () => Date.now() + offset,
      sleep: async (ms: number, signal?: AbortSignal) => {
        signal?.throwIfAborted()
        waits.push(ms)
        offset += ms
      },
    }
    const client = createEnvironments(config, { clock }).client('dev')!
    handle.admin.clearFaults(7)
    handle.admin.resetCounters()
    handle.admin.injectFault({ scope: world.orgs.dev.id, kind: '429', rate: 0.15, retryAfterSeconds: 1 })
    handle.admin.injectFault({ scope: world.orgs.dev.id, kind: 'status', status: 503, rate: 0.1 })
    handle.admin.injectFault({ scope: world.orgs.dev.id, kind: 'drop', rate: 0.05 })
    const progress: string[] = []
    let fired: Record<string, number> = {}
    try {
      const result = await runJob(client, options, {
        progress: (l) => progress.push(l),
        info: () => {},
        warn: () => {},
      })
      expect(result.rows).toBe(ROWS)
    } finally {
      fired = Object.fromEntries(handle.admin.listFaults().map((f) => [f.kind, f.fired]))
      handle.admin.clearFaults()
    }
    // Every kind of fault really happened during the run.
    expect(fired['429']).toBeGreaterThan(0)
    expect(fired['status']).toBeGreaterThan(0)
    expect(fired['drop']).toBeGreaterThan(0)
    // The client paused for the 429s' Retry-After (1 s, less the few ms already gone) on its clock.
    expect(waits.some((ms) => ms > 900 && ms <= 1_000)).toBe(true)
    expectExactlyOnce(await readLines(output))
    expect(progress.at(-1)).toMatch(/^progress rows=20000 /)
    expect(progress.length).toBeGreaterThanOrEqual(20)
    await expect(stat(`${output}.checkpoint.json`)).rejects.toThrow()
  }, 180_000)

  it('killed with SIGKILL halfway and started again, resumes and ends with exactly 20,000 lines', async () => {
    const output = join(dir, 'killed.ndjson')
    const args = [
      '--conditions=@dataverse-s2s/source',
      '--import',
      'tsx',
      'src/job/main.ts',
      '--environment',
      'dev',
      '--output',
      output,
      '--page-size',
      '250',
      '--checkpoint-every',
      '250',
    ]
    // Slow the org down a little so the kill lands in the middle of the run.
    const latency = handle.admin.injectFault({
      scope: world.orgs.dev.id,
      kind: 'latency',
      latencyMs: 40,
      rate: 1,
    })
    const first = spawn(process.execPath, args, {
      cwd: appDir,
      env: childEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let killedAt = 0
    const firstLog = await watch(first, (line) => {
      const rows = Number(/progress rows=(\d+)/.exec(line)?.[1] ?? 0)
      if (rows >= ROWS / 2 && killedAt === 0) {
        killedAt = rows
        first.kill('SIGKILL')
      }
    })
    handle.admin.removeFault(latency)
    expect(firstLog.signal).toBe('SIGKILL')
    expect(killedAt).toBeGreaterThanOrEqual(ROWS / 2)
    expect(killedAt).toBeLessThan(ROWS)
    await expect(stat(output)).rejects.toThrow()
    const checkpoint = JSON.parse(await readFile(`${output}.checkpoint.json`, 'utf8'))
    expect(checkpoint.rows).toBeGreaterThanOrEqual(killedAt)

    const second = spawn(process.execPath, args, {
      cwd: appDir,
      env: childEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const secondLog = await watch(second, () => {})
    expect(secondLog.code, secondLog.text).toBe(0)
    expect(secondLog.text).toMatch(new RegExp(`resumed at row ${checkpoint.rows}`))
    expectExactlyOnce(await readLines(output))
  }, 180_000)

  it('stops at once on a query Dataverse refuses (400), instead of restarting it for minutes', async () => {
    const output = join(dir, 'refused.ndjson')
    const options = parseJobArgs([
      '--environment',
      'dev',
      '--output',
      output,
      '--filter',
      'nosuchcolumn eq 1',
    ])
    if (options === 'help') throw new Error('unexpected')
    const client = createEnvironments(config).client('dev')!
    const warnings: string[] = []
    const started = performance.now()
    await expect(
      runJob(client, options, { progress: () => {}, info: () => {}, warn: (l) => warnings.push(l) }),
    ).rejects.toMatchObject({ code: 'SOURCE_REFUSED', message: expect.stringContaining('will not help') })
    expect(warnings.filter((w) => w.includes('restart'))).toEqual([])
    expect(performance.now() - started).toBeLessThan(10_000)
  })
})

function watch(child: ChildProcess, onLine: (line: string) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; text: string }>((resolve) => {
    let text = ''
    let buffer = ''
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      text += chunk
      buffer += chunk
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    })
    child.on('close', (code, signal) => resolve({ code, signal, text }))
  })
}
