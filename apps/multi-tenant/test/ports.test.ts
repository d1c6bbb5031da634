import { afterAll, describe, expect, it } from 'vitest'
import { type RunningApp, startApp } from '../src/server/bootstrap.ts'

const running: RunningApp[] = []
afterAll(async () => {
  for (const r of running) await r.stop()
})

async function copy(emulatorPort: number, dataDir: string) {
  const r = await startApp({
    config: { port: 0, dataDir, stateSecret: 'ports-test-state-secret-0123456789-abcdefgh', emulatorPort },
    persistEmulator: false,
    inMemoryRegistry: true,
    listen: false,
    quiet: true,
  })
  running.push(r)
  return r
}

describe('EMULATOR_PORT', () => {
  it('runs two copies of the sample side by side, each emulator on its port and its orgs on the next ones', async () => {
    // Ports from a range the machine's services do not use, picked per run so parallel runs rarely meet.
    const base = 30_000 + Math.floor(Math.random() * 300) * 100
    const first = await copy(base, '/tmp/multi-tenant-ports-a')
    const second = await copy(base + 50, '/tmp/multi-tenant-ports-b')
    expect(first.emulator?.url).toBe(`https://localhost:${base}`)
    expect(second.emulator?.url).toBe(`https://localhost:${base + 50}`)
    const ports = (r: RunningApp) => r.emulator?.orgs.map((o) => Number(new URL(o.url).port)).sort()
    expect(ports(first)).toEqual([base + 1, base + 2])
    expect(ports(second)).toEqual([base + 51, base + 52])
    // Both answer: Contoso is seeded and verified in each, against its own emulator.
    for (const r of [first, second]) {
      const contoso = (await r.registry.list())[0]
      expect(contoso?.status).toBe('verified')
      expect(contoso?.orgUrl.startsWith('https://localhost:')).toBe(true)
      expect(r.emulator?.orgs.map((o) => o.url)).toContain(contoso?.orgUrl)
    }
  })
})
