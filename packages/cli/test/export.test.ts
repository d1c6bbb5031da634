// An export of 100,000 rows, interrupted with SIGINT and resumed: exactly 100,000 lines, no duplicates, flat memory.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { baseEnv, createDataOrg, run, start, startWorld, type TestWorld, until } from './support.ts'

const ROWS = 100_000
let world: TestWorld
let org: { url: string; id: string }
const work = mkdtempSync(join(tmpdir(), 'cli-export-'))

beforeAll(async () => {
  world = await startWorld()
  org = await createDataOrg(world, 'exports')
  const data = world.emulator.admin.org(org.id).data
  for (let i = 0; i < ROWS; i += 10_000)
    data.insertRows(
      'new_item',
      Array.from({ length: 10_000 }, (_, j) => ({ new_name: `item ${i + j}`, new_n: i + j })),
    )
  expect(data.count('new_item')).toBe(ROWS)
})
afterAll(async () => {
  await world?.emulator.stop()
})

const checkpointRows = (path: string) => {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { rows: number }).rows
  } catch {
    return 0
  }
}

describe('export', () => {
  it('survives Ctrl-C and resumes from its checkpoint to exactly one line per row', async () => {
    const out = join(work, 'items.ndjson')
    const args = ['export', ...world.flags(org.url), '--table', 'new_item', '--out', out, '--json']
    // --expose-gc: the export then measures its live heap (collected before each sample)
    const env = baseEnv({ NODE_OPTIONS: '--expose-gc' })
    const first = start(args, env)
    await until(
      () => checkpointRows(`${out}.checkpoint.json`) >= 20_000,
      40_000,
      'the export to save 20,000 rows',
    )
    first.child.kill('SIGINT')
    const stopped = await first.done
    expect(stopped.code).toBe(130)
    expect(JSON.parse(stopped.stdout)).toMatchObject({ error: { code: 'INTERRUPTED' } })
    expect(stopped.stderr).toMatch(
      /\[INTERRUPTED\] Interrupted: \d+ rows are saved.*\nfix: Run the same command again/,
    )
    expect(existsSync(out)).toBe(false)
    const saved = checkpointRows(`${out}.checkpoint.json`)
    expect(saved).toBeGreaterThanOrEqual(20_000)
    expect(saved).toBeLessThan(ROWS)

    // a checkpoint that does not match its output is not trusted
    const copy = join(work, 'copy.ndjson')
    copyFileSync(`${out}.partial`, `${copy}.partial`)
    const cp = JSON.parse(readFileSync(`${out}.checkpoint.json`, 'utf8'))
    writeFileSync(
      `${copy}.checkpoint.json`,
      JSON.stringify({ ...cp, lastId: '00000000-0000-0000-0000-000000000001' }),
    )
    const refused = await run(['export', ...world.flags(org.url), '--table', 'new_item', '--out', copy])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^error \[CHECKPOINT_INVALID\] The checkpoint does not match/)

    const second = await run(args, env)
    expect(second.code).toBe(0)
    const summary = JSON.parse(second.stdout)
    expect(summary).toMatchObject({ rows: ROWS, resumed: true })
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(ROWS)
    const ids = new Set(lines.map((l) => (JSON.parse(l) as { new_itemid: string }).new_itemid))
    expect(ids.size).toBe(ROWS)
    const ns = new Set(lines.map((l) => (JSON.parse(l) as { new_n: number }).new_n))
    expect(ns.size).toBe(ROWS)
    expect(existsSync(`${out}.checkpoint.json`)).toBe(false)
    expect(existsSync(`${out}.partial`)).toBe(false)
    // constant memory: one page at a time, whatever the number of rows (about 80,000 rows came in this run)
    console.log('export memory', summary.memory)
    const { firstPage, max, collected } = summary.memory
    expect(collected).toBe(true)
    expect(max.heapUsedBytes - firstPage.heapUsedBytes).toBeLessThan(8 * 1024 * 1024)
    expect(max.rssBytes - firstPage.rssBytes).toBeLessThan(32 * 1024 * 1024)
  })
})
