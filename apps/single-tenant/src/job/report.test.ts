import { appendFile, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { csvField, type Row } from './format.ts'
import { type ReportOptions, runReport } from './report.ts'

const key = (i: number) => `k${String(i).padStart(6, '0')}`
const table = Array.from({ length: 2_500 }, (_, i) => ({ id: key(i), name: `Row "${i}", with comma`, n: i }))

interface SourceCalls {
  starts: (string | null)[]
}

function source(options: { failAt?: Set<number>; failAlwaysAt?: number; onRow?: (i: number) => void } = {}) {
  const calls: SourceCalls = { starts: [] }
  const served = new Set<number>()
  async function* rows(after: string | null): AsyncIterable<Row> {
    calls.starts.push(after)
    const start = after === null ? 0 : table.findIndex((r) => r.id > after)
    for (let i = start; i >= 0 && i < table.length; i++) {
      if ((options.failAt?.has(i) && !served.has(i)) || options.failAlwaysAt === i) {
        served.add(i)
        throw Object.assign(new Error('429 Too Many Requests'), { status: 429 })
      }
      options.onRow?.(i)
      await Promise.resolve()
      yield table[i]!
    }
  }
  return { rows, calls }
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const base = (output: string, rows: ReportOptions['rows']): ReportOptions => ({
  output,
  format: 'ndjson',
  columns: ['id', 'name', 'n'],
  key: 'id',
  rows,
  checkpointEvery: 100,
  restartDelayMs: 1,
})

async function lines(path: string) {
  const text = await readFile(path, 'utf8')
  return text.split('\n').filter((l) => l.length > 0)
}

describe('runReport', () => {
  it('writes every row once as NDJSON and leaves no partial file or checkpoint behind', async () => {
    const output = join(dir, 'out.ndjson')
    const progress: number[] = []
    const result = await runReport({
      ...base(output, source().rows),
      total: async () => table.length,
      onProgress: (p) => progress.push(p.rows),
    })
    expect(result).toMatchObject({ rows: 2_500, resumedAt: 0, restarts: 0 })
    const out = await lines(output)
    expect(out).toHaveLength(2_500)
    expect(JSON.parse(out[7]!)).toEqual(table[7])
    expect(progress.at(-1)).toBe(2_500)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    await expect(stat(`${output}.partial`)).rejects.toThrow()
    await expect(stat(`${output}.checkpoint.json`)).rejects.toThrow()
    await expect(stat(`${output}.lock`)).rejects.toThrow()
  })

  it('keeps going while each restart makes progress', async () => {
    const output = join(dir, 'out.ndjson')
    const failAt = new Set(Array.from({ length: 30 }, (_, i) => 1_000 + i))
    const result = await runReport({ ...base(output, source({ failAt }).rows), maxRestarts: 2 })
    expect(result.restarts).toBe(30)
    expect(await lines(output)).toHaveLength(2_500)
  })

  it('restarts a failing source after the last row written, without duplicates', async () => {
    const output = join(dir, 'out.ndjson')
    const { rows, calls } = source({ failAt: new Set([0, 150, 151, 999, 2_499]) })
    const restarts: number[] = []
    const result = await runReport({
      ...base(output, rows),
      onRestart: (_e, attempt) => restarts.push(attempt),
    })
    expect(result.restarts).toBe(5)
    expect(restarts).toEqual([1, 2, 3, 4, 5])
    const ids = (await lines(output)).map((l) => JSON.parse(l).id)
    expect(ids).toEqual(table.map((r) => r.id))
    expect(calls.starts[2]).toBe(key(149))
  })

  it('gives up after maxRestarts consecutive failures and resumes from there on the next run', async () => {
    const output = join(dir, 'out.ndjson')
    const first = source({ failAlwaysAt: 1_234 })
    await expect(runReport({ ...base(output, first.rows), maxRestarts: 2 })).rejects.toMatchObject({
      code: 'SOURCE_FAILED',
    })
    expect(first.calls.starts).toEqual([null, key(1_233), key(1_233)])
    const saved = JSON.parse(await readFile(`${output}.checkpoint.json`, 'utf8'))
    expect(saved).toMatchObject({ rows: 1_234, lastKey: key(1_233) })
    const second = source()
    const result = await runReport(base(output, second.rows))
    expect(result.resumedAt).toBe(1_234)
    expect(second.calls.starts).toEqual([key(1_233)])
    expect((await lines(output)).map((l) => JSON.parse(l).n)).toEqual(table.map((r) => r.n))
  })

  it('after a crash, drops bytes written past the checkpoint and continues after its key', async () => {
    const output = join(dir, 'out.ndjson')
    const controller = new AbortController()
    const first = source({ onRow: (i) => i === 1_050 && controller.abort() })
    await expect(runReport({ ...base(output, first.rows), signal: controller.signal })).rejects.toMatchObject(
      {
        code: 'ABORTED',
      },
    )
    // A crash between writing rows and writing the checkpoint leaves extra (even half-written) lines behind.
    const before = (await lines(`${output}.partial`)).length
    await appendFile(`${output}.partial`, `${JSON.stringify(table[before])}\n{"id":"k0`)
    const second = source()
    const result = await runReport(base(output, second.rows))
    expect(result.resumedAt).toBe(before)
    expect(second.calls.starts).toEqual([key(before - 1)])
    const ids = (await lines(output)).map((l) => JSON.parse(l).id)
    expect(ids).toHaveLength(2_500)
    expect(new Set(ids).size).toBe(2_500)
    expect(ids).toEqual(table.map((r) => r.id))
  })

  it('starts over when the checkpoint belongs to another query or the partial file lost data', async () => {
    const output = join(dir, 'out.ndjson')
    const controller = new AbortController()
    const first = source({ onRow: (i) => i === 500 && controller.abort() })
    await expect(runReport({ ...base(output, first.rows), signal: controller.signal })).rejects.toThrow()

    const other = source()
    await runReport({ ...base(output, other.rows), query: 'contacts where statecode eq 0' })
    expect(other.calls.starts).toEqual([null])
    expect(await lines(output)).toHaveLength(2_500)

    const again = new AbortController()
    const third = source({ onRow: (i) => i === 700 && again.abort() })
    await expect(runReport({ ...base(output, third.rows), signal: again.signal })).rejects.toThrow()
    await writeFile(`${output}.partial`, '')
    const fourth = source()
    await runReport(base(output, fourth.rows))
    expect(fourth.calls.starts).toEqual([null])
    expect(await lines(output)).toHaveLength(2_500)
  })

  it('writes CSV with one header, also across a resume, and quotes per RFC 4180', async () => {
    const output = join(dir, 'out.csv')
    const controller = new AbortController()
    const first = source({ onRow: (i) => i === 333 && controller.abort() })
    const csv = { format: 'csv' as const }
    await expect(
      runReport({ ...base(output, first.rows), ...csv, signal: controller.signal }),
    ).rejects.toThrow()
    await runReport({ ...base(output, source().rows), ...csv })
    const text = await readFile(output, 'utf8')
    const rows = text.split('\r\n').filter((l) => l)
    expect(rows[0]).toBe('id,name,n')
    expect(rows).toHaveLength(2_501)
    expect(rows[1]).toBe('k000000,"Row ""0"", with comma",0')
    expect(csvField('a\nb')).toBe('"a\nb"')
    expect(csvField(null)).toBe('')
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"')
  })

  it('refuses a row without a key, and a second run on the same output at the same time', async () => {
    const output = join(dir, 'out.ndjson')
    async function* keyless(): AsyncIterable<Row> {
      yield { name: 'no id' }
    }
    await expect(runReport(base(output, keyless))).rejects.toMatchObject({ code: 'BAD_ROW' })

    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    async function* slow(): AsyncIterable<Row> {
      await gate
      yield table[0]!
    }
    const running = runReport(base(join(dir, 'b.ndjson'), slow))
    await vi.waitFor(async () =>
      expect(await readFile(join(dir, 'b.ndjson.lock'), 'utf8')).toBe(String(process.pid)),
    )
    await expect(runReport(base(join(dir, 'b.ndjson'), source().rows))).rejects.toMatchObject({
      code: 'LOCKED',
    })
    release()
    await expect(running).resolves.toMatchObject({ rows: 1 })
  })

  it('takes over a lock left by a process that no longer exists', async () => {
    const output = join(dir, 'out.ndjson')
    await writeFile(`${output}.lock`, '2147483646')
    await expect(runReport(base(output, source().rows))).resolves.toMatchObject({ rows: 2_500 })
  })

  describe('hostile files', () => {
    async function stoppedAt(output: string, row: number, format: 'ndjson' | 'csv' = 'ndjson') {
      const controller = new AbortController()
      const first = source({ onRow: (i) => i === row && controller.abort() })
      await expect(
        runReport({ ...base(output, first.rows), format, signal: controller.signal }),
      ).rejects.toMatchObject({ code: 'ABORTED' })
      return JSON.parse(await readFile(`${output}.checkpoint.json`, 'utf8')) as Record<string, unknown>
    }

    async function resumeAndCheck(output: string) {
      const reasons: string[] = []
      const second = source()
      const result = await runReport({
        ...base(output, second.rows),
        onCheckpointRejected: (r) => reasons.push(r),
      })
      const ids = (await lines(output)).map((l) => JSON.parse(l).id)
      expect(ids).toEqual(table.map((r) => r.id))
      expect(result.rows).toBe(2_500)
      return { reasons, starts: second.calls.starts }
    }

    it('does not write through a symbolic link planted at the partial file', async () => {
      const output = join(dir, 'out.ndjson')
      const victim = join(dir, 'victim.txt')
      await writeFile(victim, 'precious')
      await symlink(victim, `${output}.partial`)
      await runReport(base(output, source().rows))
      expect(await readFile(victim, 'utf8')).toBe('precious')
      expect(await lines(output)).toHaveLength(2_500)
    })

    it('refuses to resume through a partial file replaced by a symbolic link, and says so', async () => {
      const output = join(dir, 'out.ndjson')
      await stoppedAt(output, 1_050)
      const victim = join(dir, 'victim.ndjson')
      await writeFile(victim, await readFile(`${output}.partial`))
      const before = await readFile(victim, 'utf8')
      await rm(`${output}.partial`)
      await symlink(victim, `${output}.partial`)
      const { reasons, starts } = await resumeAndCheck(output)
      expect(reasons).toEqual(['the partial output is a symbolic link'])
      expect(starts).toEqual([null])
      expect(await readFile(victim, 'utf8')).toBe(before)
    })

    it('does not follow a link planted at a predictable temporary checkpoint name', async () => {
      const output = join(dir, 'out.ndjson')
      const victim = join(dir, 'victim.txt')
      await writeFile(victim, 'precious')
      await symlink(victim, join(dir, `.out.ndjson.checkpoint.json.${process.pid}.tmp`))
      await runReport(base(output, source().rows))
      expect(await readFile(victim, 'utf8')).toBe('precious')
      // Only the planted link and the files of a finished run are left: no temporary file behind.
      expect((await readdir(dir)).sort()).toEqual(
        [`.out.ndjson.checkpoint.json.${process.pid}.tmp`, 'out.ndjson', 'victim.txt'].sort(),
      )
    })

    it('restarts cleanly, and says why, when the offset of the checkpoint was moved back', async () => {
      const output = join(dir, 'out.ndjson')
      const saved = await stoppedAt(output, 1_050)
      await writeFile(
        `${output}.checkpoint.json`,
        JSON.stringify({ ...saved, offset: (saved['offset'] as number) - 7 }),
      )
      const { reasons, starts } = await resumeAndCheck(output)
      expect(reasons).toEqual(['the byte before the checkpoint offset is not the end of a line'])
      expect(starts).toEqual([null])
    })

    it('restarts cleanly when lastKey was moved forward (rows would be skipped)', async () => {
      const output = join(dir, 'out.ndjson')
      const saved = await stoppedAt(output, 1_050)
      await writeFile(`${output}.checkpoint.json`, JSON.stringify({ ...saved, lastKey: key(1_070) }))
      const { reasons, starts } = await resumeAndCheck(output)
      expect(reasons).toEqual(['the row before the checkpoint offset does not carry its lastKey'])
      expect(starts).toEqual([null])
    })

    it('restarts cleanly on a checkpoint that is not JSON, lacks fields, or claims rows with no key', async () => {
      for (const [content, reason] of [
        ['{"version":1', 'the checkpoint is not valid JSON'],
        [{ lastLineBytes: undefined }, 'the checkpoint is incomplete or has fields of the wrong type'],
        [{ lastKey: null }, 'the checkpoint is incomplete or has fields of the wrong type'],
        [{ fingerprint: 'other' }, 'the checkpoint belongs to another query, format or set of columns'],
      ] as const) {
        const output = join(dir, `out-${reasons(content)}.ndjson`)
        const saved = await stoppedAt(output, 700)
        await writeFile(
          `${output}.checkpoint.json`,
          typeof content === 'string' ? content : JSON.stringify({ ...saved, ...content }),
        )
        const result = await resumeAndCheck(output)
        expect(result.reasons).toEqual([reason])
      }
      function reasons(content: unknown) {
        return typeof content === 'string' ? 'text' : Object.keys(content as object).join('-')
      }
    })

    it('verifies a CSV checkpoint with quoted fields and resumes after it', async () => {
      const output = join(dir, 'out.csv')
      const saved = await stoppedAt(output, 420, 'csv')
      expect(saved['lastLineBytes']).toBeGreaterThan(10)
      const reasons: string[] = []
      const second = source()
      await runReport({
        ...base(output, second.rows),
        format: 'csv',
        onCheckpointRejected: (r) => reasons.push(r),
      })
      expect(reasons).toEqual([])
      expect(second.calls.starts).toEqual([saved['lastKey']])
      expect((await readFile(output, 'utf8')).split('\r\n').filter(Boolean)).toHaveLength(2_501)
    })
  })

  it('stops at once, without restarts, on a failure the source says is permanent', async () => {
    const output = join(dir, 'out.ndjson')
    const refused = Object.assign(new Error('400 Bad Request: Could not find a property named nope'), {
      status: 400,
    })
    async function* bad(): AsyncIterable<Row> {
      yield table[0]!
      throw refused
    }
    const restarts: number[] = []
    await expect(
      runReport({
        ...base(output, bad),
        isPermanent: (e) => e === refused,
        onRestart: (_e, n) => restarts.push(n),
      }),
    ).rejects.toMatchObject({ code: 'SOURCE_REFUSED', message: expect.stringContaining('nope') })
    expect(restarts).toEqual([])
    // The row read before the refusal is kept for the next run.
    expect(JSON.parse(await readFile(`${output}.checkpoint.json`, 'utf8'))).toMatchObject({ rows: 1 })
  })
})
