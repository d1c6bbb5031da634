import { execFile, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The BUILT @dataverse-s2s/webapi (dist, through its package.json `imports`, as a user gets it) on Bun, Deno and
// workerd against the emulator over HTTPS. Needs `pnpm build` first (the README's test command builds first).

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
const work = mkdtempSync(join(tmpdir(), 'dvs2s-runtimes-'))
let emulator: EmulatorHandle
let settings: Record<string, string>

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  const contoso = emulator.orgs.find((org) => org.tenantId === defaultIds.contosoTenantId)!
  settings = {
    authority: emulator.url,
    tenantId: defaultIds.contosoTenantId,
    clientId: defaultIds.multiTenantAppId,
    clientSecret: defaultIds.multiTenantAppSecret,
    orgUrl: contoso.url,
    ca: emulator.caCertPem,
  }
  // A project outside the workspace whose node_modules holds the built package, as an install would.
  mkdirSync(join(work, 'node_modules', '@dataverse-s2s'), { recursive: true })
  symlinkSync(join(root, 'packages', 'webapi'), join(work, 'node_modules', '@dataverse-s2s', 'webapi'))
  writeFileSync(
    join(work, 'package.json'),
    JSON.stringify({ name: 'runtimes', private: true, type: 'module' }),
  )
  for (const file of ['program.mjs', 'cli.mjs', 'worker.mjs']) {
    copyFileSync(join(here, 'runtimes', file), join(work, file))
  }
}, 60_000)

afterAll(async () => {
  await emulator?.stop()
  rmSync(work, { recursive: true, force: true })
})

function parseResult(stdout: string): unknown {
  return JSON.parse(stdout.trim().split('\n').at(-1)!)
}

const expected = (runtime: unknown) => ({
  runtime,
  userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
  accounts: 3,
  created: true,
})

describe('@dataverse-s2s/webapi, built, on other runtimes against the emulator', () => {
  it('runs on Bun, which matches the `bun` condition before `node` (no undici)', async () => {
    const { stdout } = await run(bin('bun'), ['cli.mjs', JSON.stringify(settings)], {
      cwd: work,
      timeout: 30_000,
    })
    expect(parseResult(stdout)).toEqual(expected('bun'))
  })

  it('runs on Deno, which matches the `deno` condition before `node`', async () => {
    const { stdout } = await run(
      bin('deno'),
      ['run', '--allow-net', '--allow-read', '--allow-env', 'cli.mjs', JSON.stringify(settings)],
      { cwd: work, timeout: 45_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } },
    )
    expect(parseResult(stdout)).toEqual(expected('deno'))
  })

  it('runs on workerd, bundled with the `workerd` condition, trusting the CA through its network config', async () => {
    await build({
      root: work,
      logLevel: 'silent',
      configFile: false,
      ssr: {
        target: 'webworker',
        noExternal: true,
        resolve: { conditions: ['workerd', 'worker', 'browser'] },
      },
      build: { ssr: join(work, 'worker.mjs'), outDir: join(work, 'bundle'), minify: false, target: 'esnext' },
    })
    const port = await freePort()
    // workerd trusts only its own store; `trustedCertificates` on the outbound network service adds the CA.
    writeFileSync(join(work, 'ca.pem'), emulator.caCertPem)
    writeFileSync(
      join(work, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"], tlsOptions = (trustedCertificates = [embed "ca.pem"]))),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "bundle/worker.js")],
  compatibilityDate = "2025-07-18",
  globalOutbound = "internet",
);
`,
    )
    const workerd: string = createRequire(createRequire(import.meta.url).resolve('miniflare'))(
      'workerd',
    ).default
    const child = spawn(workerd, ['serve', join(work, 'config.capnp')], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    try {
      const response = await postUntilUp(
        `http://127.0.0.1:${port}/`,
        JSON.stringify({ ...settings, ca: '' }),
        () => stderr,
      )
      expect(await response.json()).toEqual(expected(expect.stringContaining('Cloudflare-Workers')))
    } finally {
      child.kill()
    }
  }, 60_000)
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const port = (server.address() as { port: number }).port
  await new Promise((done) => server.close(done))
  return port
}

// Bounded: 100 attempts 100 ms apart, then the test fails with workerd's own output.
async function postUntilUp(url: string, body: string, output: () => string): Promise<Response> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      return await fetch(url, { method: 'POST', body })
    } catch {
      await new Promise((done) => setTimeout(done, 100))
    }
  }
  throw new Error(`workerd did not answer on ${url}: ${output()}`)
}
