import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { extraTrust, HttpNetworkError, send } from './http.ts'

let emulator: EmulatorHandle
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
}, 60_000)
afterAll(() => emulator?.stop())

/** An emulator with a CA of its own (emulators without a state folder share one CA per process). */
const withOwnCa = () =>
  startEmulator({ port: 0, stateDir: mkdtempSync(join(tmpdir(), 'core-http-ca-')), persist: false })

const keys = () => `${emulator.url}/common/discovery/v2.0/keys`

describe('send with extra trusted CAs', () => {
  it('builds one TLS context per distinct set of extra CAs, none without', async () => {
    expect(extraTrust(undefined)).toBeUndefined()
    expect(extraTrust([])).toBeUndefined()
    const a = extraTrust(emulator.caCertPem)
    expect(extraTrust([emulator.caCertPem])).toBe(a)
    const other = await withOwnCa()
    expect(other.caCertPem).not.toBe(emulator.caCertPem)
    try {
      const b = extraTrust([emulator.caCertPem, other.caCertPem])
      expect(b).not.toBe(a)
      expect(b?.extra).toEqual([emulator.caCertPem, other.caCertPem])
      // the context trusts both CAs: each emulator is reached with it
      for (const url of [keys(), `${other.url}/common/discovery/v2.0/keys`]) {
        expect((await send(url, {}, { ca: [emulator.caCertPem, other.caCertPem] })).status).toBe(200)
      }
    } finally {
      await other.stop()
    }
  })

  it('reaches a server signed by the extra CA, and refuses it with only another CA or none', async () => {
    expect((await send(keys(), {}, { ca: emulator.caCertPem })).status).toBe(200)
    const stranger = await withOwnCa()
    try {
      await expect(send(keys(), {}, { ca: stranger.caCertPem })).rejects.toThrow(HttpNetworkError)
    } finally {
      await stranger.stop()
    }
    await expect(send(keys(), {})).rejects.toThrow(HttpNetworkError)
  })

  it('trusts nothing more for an extra CA that is not a certificate', async () => {
    await expect(send(keys(), {}, { ca: 'not a certificate' })).rejects.toThrow(
      /^Could not reach https:\/\/localhost:\d+: unable to verify the first certificate/,
    )
  })

  it('keeps at most 16 trusts, dropping the oldest', () => {
    const first = extraTrust('one')
    for (let i = 0; i < 16; i++) extraTrust(`other ${i}`)
    expect(extraTrust('one')).not.toBe(first)
    expect(extraTrust('other 15')).toBe(extraTrust('other 15'))
  })
})
