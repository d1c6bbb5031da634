// `dataverse-s2s-emulator trust` against a real Chromium that ignores no certificate error. The NSS database lives in
// a throwaway HOME, and the system store is left alone, so the machine is not changed.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { launchChromium } from '@dataverse-s2s/test-browser'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTrustCommand } from '../src/cli-trust.ts'
import { type EmulatorHandle, startEmulator } from '../src/index.ts'
import { isEmulatorCaTrusted } from '../src/trust-store.ts'

const home = mkdtempSync(join(tmpdir(), 'emulator-trust-home-'))
const stateDir = join(home, 'state')
const nssDb = join(home, '.pki', 'nssdb')
let emulator: EmulatorHandle
const browsers: Browser[] = []

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, stateDir, persist: false })
}, 60_000)

afterAll(async () => {
  for (const browser of browsers) await browser.close()
  await emulator?.stop()
  rmSync(home, { recursive: true, force: true })
})

// A fresh Chromium each time: it reads the NSS database at start-up. No ignoreHTTPSErrors, no certificate flags.
async function openDiscovery(): Promise<{ ok: boolean; error?: string }> {
  const browser = await launchChromium({ env: { ...process.env, HOME: home } })
  browsers.push(browser)
  const page = await browser.newPage()
  try {
    const response = await page.goto(`${emulator.url}/common/v2.0/.well-known/openid-configuration`, {
      timeout: 15_000,
    })
    return { ok: response?.ok() ?? false }
  } catch (error) {
    return { ok: false, error: String(error) }
  } finally {
    await browser.close()
  }
}

const args = ['--state', stateDir, '--nss-db', nssDb, '--no-system']

describe('trust / untrust', () => {
  it('a plain Chromium refuses the emulator before trust, accepts it after, and refuses it again after untrust', async () => {
    expect(isEmulatorCaTrusted({ caCertPem: emulator.caCertPem, nssDb })).toBe(false)
    const before = await openDiscovery()
    expect(before.ok).toBe(false)
    expect(before.error).toContain('ERR_CERT_AUTHORITY_INVALID')

    const lines = runTrustCommand('trust', args)
    expect(lines.join('\n')).toContain(`trusted in ${nssDb}`)
    expect(lines.join('\n')).toContain('skipped (--no-system)')
    expect(isEmulatorCaTrusted({ caCertPem: emulator.caCertPem, nssDb })).toBe(true)
    // Idempotent: a second trust adds no second copy.
    runTrustCommand('trust', args)
    const listed = execFileSync('certutil', ['-d', `sql:${nssDb}`, '-L'], { encoding: 'utf8' })
    expect(listed.match(/Dataverse S2S Emulator CA/g)).toHaveLength(1)

    expect(await openDiscovery()).toEqual({ ok: true })

    expect(runTrustCommand('untrust', args).join('\n')).toContain(`removed from ${nssDb}`)
    expect(isEmulatorCaTrusted({ caCertPem: emulator.caCertPem, nssDb })).toBe(false)
    expect((await openDiscovery()).error).toContain('ERR_CERT_AUTHORITY_INVALID')
  }, 90_000)

  it('says what to do when the state folder has no CA yet', () => {
    expect(() =>
      runTrustCommand('trust', ['--state', join(home, 'empty'), '--nss-db', nssDb, '--no-system']),
    ).toThrow(/start the emulator once with this state folder/)
  })
})
