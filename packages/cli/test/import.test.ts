// An import of 20,000 rows while the org fails requests on purpose: each run stops at the first failed chunk
// (BULK_INCOMPLETE), keeps a checkpoint of the rows written, and the next run sends only the rest.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDataOrg, run, startWorld, type TestWorld } from './support.ts'

const ROWS = 20_000
let world: TestWorld
const work = mkdtempSync(join(tmpdir(), 'cli-import-'))

beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => {
  await world?.emulator.stop()
})

async function importUntilDone(args: string[], maxRuns: number) {
  const runs: { code: number | null; stderr: string }[] = []
  for (let i = 0; i < maxRuns; i++) {
    const res = await run(args)
    runs.push({ code: res.code, stderr: res.stderr })
    if (res.code === 0) {
      console.log(`import finished in ${runs.length} runs`)
      return { runs, last: res }
    }
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/^error \[BULK_INCOMPLETE\] .*\nfix: Run the same import again/)
  }
  throw new Error(`the import did not finish in ${maxRuns} runs: ${runs.map((r) => r.stderr).join('\n')}`)
}

describe('import', () => {
  it('creates exactly 20,000 rows from a CSV file under injected faults, resuming from its checkpoint', async () => {
    const org = await createDataOrg(world, 'imports')
    const file = join(work, 'items.csv')
    const lines = ['new_name,new_n']
    for (let i = 0; i < ROWS; i++) lines.push(`"item, ${i}",${i}`)
    writeFileSync(file, `${lines.join('\n')}\n`)
    // a refused chunk (400: not written) and a failed one (503: not retried for creates, so "may have been written")
    world.emulator.admin.injectFault({
      scope: org.id,
      kind: 'status',
      status: 400,
      rate: 0.1,
      path: 'CreateMultiple',
    })
    world.emulator.admin.injectFault({
      scope: org.id,
      kind: 'status',
      status: 503,
      rate: 0.1,
      path: 'CreateMultiple',
    })
    const { runs, last } = await importUntilDone(
      ['import', file, ...world.flags(org.url), '--table', 'new_item', '--json'],
      20,
    )
    world.emulator.admin.clearFaults()
    expect(runs.length).toBeGreaterThan(1)
    expect(JSON.parse(last.stdout)).toMatchObject({ operation: 'create', rows: ROWS })
    const data = world.emulator.admin.org(org.id).data
    expect(data.count('new_item')).toBe(ROWS)
    // every value exactly once
    const exported = join(work, 'check.ndjson')
    expect(
      (await run(['export', ...world.flags(org.url), '--table', 'new_item', '--out', exported])).code,
    ).toBe(0)
    const { readFileSync } = await import('node:fs')
    const ns = readFileSync(exported, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { new_n: number; new_name: string })
    expect(new Set(ns.map((r) => r.new_n)).size).toBe(ROWS)
    expect(ns.find((r) => r.new_n === 7)?.new_name).toBe('item, 7')
  }, 300_000)

  it('upserts NDJSON rows that carry their id, through dropped connections, to exactly one row each', async () => {
    const org = await createDataOrg(world, 'upserts')
    const file = join(work, 'items.ndjson')
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      new_itemid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      new_name: `row ${i}`,
      new_n: i,
    }))
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'))
    world.emulator.admin.injectFault({ scope: org.id, kind: 'drop', rate: 0.3, path: 'UpsertMultiple' })
    const { last } = await importUntilDone(
      ['import', file, ...world.flags(org.url), '--table', 'new_item', '--chunk-size', '500', '--json'],
      20,
    )
    world.emulator.admin.clearFaults()
    expect(JSON.parse(last.stdout)).toMatchObject({ operation: 'upsert', rows: 3000 })
    expect(world.emulator.admin.org(org.id).data.count('new_item')).toBe(3000)
  })

  it('creates each row exactly once when responses are lost after the write (written, but the client never hears)', async () => {
    const org = await createDataOrg(world, 'lost-responses')
    const file = join(work, 'lost.csv')
    const lines = ['new_name,new_n']
    for (let i = 0; i < 3000; i++) lines.push(`lost ${i},${i}`)
    writeFileSync(file, `${lines.join('\n')}\n`)
    // the org writes the chunk, then the connection drops or a gateway answers 504: the outcome is unknown
    world.emulator.admin.injectFault({
      scope: org.id,
      kind: 'drop',
      after: true,
      rate: 0.2,
      path: 'Multiple',
    })
    world.emulator.admin.injectFault({
      scope: org.id,
      kind: 'status',
      status: 504,
      after: true,
      rate: 0.2,
      path: 'Multiple',
    })
    const { runs, last } = await importUntilDone(
      ['import', file, ...world.flags(org.url), '--table', 'new_item', '--chunk-size', '250', '--json'],
      30,
    )
    world.emulator.admin.clearFaults()
    expect(runs.length).toBeGreaterThan(1)
    expect(JSON.parse(last.stdout)).toMatchObject({ operation: 'create', rows: 3000 })
    expect(world.emulator.admin.org(org.id).data.count('new_item')).toBe(3000)
  }, 120_000)

  it('stops at a malformed row with its line number, and refuses the checkpoint once the file changed', async () => {
    const org = await createDataOrg(world, 'changed')
    const file = join(work, 'bad.ndjson')
    writeFileSync(file, '{"new_name":"a"}\nnot json\n')
    const bad = await run(['import', file, ...world.flags(org.url), '--table', 'new_item'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^error \[INPUT_INVALID\] .*line 2: not a JSON object/)
    writeFileSync(file, '{"new_name":"a"}\n{"new_name":"b"}\n')
    const changed = await run(['import', file, ...world.flags(org.url), '--table', 'new_item'])
    expect(changed.stderr).toMatch(/^error \[CHECKPOINT_INVALID\] .*changed since/)
    const restarted = await run(['import', file, ...world.flags(org.url), '--table', 'new_item', '--restart'])
    expect(restarted.code).toBe(0)
  })
})
