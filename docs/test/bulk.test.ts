import { startEmulator } from '@dataverse-s2s/emulator'
import { type DataverseClient, odata, type Row } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createResumably, importAccounts, syncAccounts } from '../snippets/bulk.ts'
import { clientFor } from '../snippets/client.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

let setup: Setup
let client: DataverseClient
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  client = clientFor(setup, setup.contoso)
})
afterAll(async () => {
  await setup?.emulator.stop()
})

/** accountnumber → how many accounts carry it, for numbers starting with `prefix`. */
async function numbers(prefix: string): Promise<Map<string, { id: string; name: string }[]>> {
  const seen = new Map<string, { id: string; name: string }[]>()
  for await (const row of client.queryAll<{ accountid: string; accountnumber: string; name: string }>(
    'accounts',
    {
      select: ['accountid', 'accountnumber', 'name'],
      filter: odata`startswith(accountnumber, ${prefix})`,
    },
  )) {
    seen.set(row.accountnumber, [
      ...(seen.get(row.accountnumber) ?? []),
      { id: row.accountid, name: row.name },
    ])
  }
  return seen
}

describe('bulk snippets', () => {
  it('imports lines from an async source with createMultiple, ids in line order', async () => {
    const lines = Array.from({ length: 1500 }, (_, i) => `IMP-${i},Imported ${i},Oslo`)
    async function* source() {
      yield* lines
    }
    const ids = await importAccounts(client, source())
    expect(ids).toHaveLength(1500)
    const seen = await numbers('IMP-')
    expect(seen.size).toBe(1500)
    lines.forEach((line, i) => {
      expect(seen.get(line.split(',')[0] as string)?.map((r) => r.id)).toEqual([ids[i]])
    })
  })

  it('upserts by alternate key, twice, with one row per key', async () => {
    const source = Array.from({ length: 40 }, (_, i) => ({ accountnumber: `SYN-${i}`, name: `Synced ${i}` }))
    expect(await syncAccounts(client, source)).toBe(40)
    const first = await numbers('SYN-')
    expect(
      await syncAccounts(
        client,
        source.map((r) => ({ ...r, name: `${r.name}!` })),
      ),
    ).toBe(40)
    const second = await numbers('SYN-')
    expect(second.size).toBe(40)
    for (const [key, rows] of second) {
      expect(rows.map((r) => r.id)).toEqual(first.get(key)?.map((r) => r.id))
      expect(rows[0]?.name).toMatch(/!$/)
    }
  })

  it('resumes after a refused chunk: every row lands exactly once', async () => {
    const rows: Row[] = Array.from({ length: 300 }, (_, i) => ({
      accountnumber: `RES-${i}`,
      name: `Resumed ${i}`,
      ...(i === 150 ? { no_such_column: true } : {}),
    }))
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    await createResumably(client, rows, ({ no_such_column: _, ...row }) => row)
    const lines = log.mock.calls.map((c) => String(c[0]))
    log.mockRestore()
    expect(lines[0]).toMatch(/chunks written, 1 refused, 0 unknown$/)
    expect(lines[1]).toMatch(/^rows 100\+100: /)
    const seen = await numbers('RES-')
    expect(seen.size).toBe(300)
    expect([...seen.values()].every((r) => r.length === 1)).toBe(true)
  })
})
