import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { endlessLoop, hung, score, summarise, writeSummary } from '../mutation/summary.mjs'

const at = (line: number) => ({ start: { line, column: 1 } })

describe('mutation summary', () => {
  it('scores detected over detected plus undetected, ignoring ignored and invalid mutants', () => {
    expect(
      score([
        { status: 'Killed', mutatorName: 'A', location: at(1) },
        { status: 'Timeout', mutatorName: 'A', location: at(2) },
        { status: 'Survived', mutatorName: 'A', location: at(3) },
        { status: 'NoCoverage', mutatorName: 'A', location: at(4) },
        { status: 'Ignored', mutatorName: 'A', location: at(5) },
        { status: 'CompileError', mutatorName: 'A', location: at(6) },
      ]),
    ).toBe(50)
    expect(score([])).toBe(100)
  })

  it('lists every survivor and uncovered mutant per file with its line and replacement', () => {
    const summary = summarise({
      files: {
        'src/a.ts': {
          mutants: [
            { status: 'Killed', mutatorName: 'EqualityOperator', location: at(1) },
            {
              status: 'Survived',
              mutatorName: 'ConditionalExpression',
              replacement: 'true',
              location: at(7),
            },
          ],
        },
        'src/b.ts': { mutants: [{ status: 'NoCoverage', mutatorName: 'BlockStatement', location: at(3) }] },
      },
    })
    expect(summary.score).toBeCloseTo(33.33, 1)
    expect(summary.survived).toBe(1)
    expect(summary.noCoverage).toBe(1)
    expect(summary.files['src/a.ts']).toMatchObject({ score: 50, killed: 1, survived: 1 })
    expect(summary.files['src/a.ts']?.undetected).toEqual([
      { line: 7, mutator: 'ConditionalExpression', status: 'Survived', replacement: 'true' },
    ])
    expect(summary.files['src/b.ts']?.undetected[0]).toMatchObject({
      line: 3,
      status: 'NoCoverage',
      replacement: null,
    })
  })

  it("lists the mutants caught only by a timeout (Stryker's or the test runner's) apart from those an assertion caught and from endless loops", () => {
    const timedOut = {
      status: 'Timeout',
      mutatorName: 'ConditionalExpression',
      replacement: 'false',
      location: at(4),
    }
    const runnerTimeout = {
      status: 'Killed',
      mutatorName: 'BlockStatement',
      replacement: '{}',
      statusReason: 'Test timed out in 30000ms.\nIf this is a long-running test, pass a timeout value.',
      location: at(9),
    }
    const assertion = {
      status: 'Killed',
      mutatorName: 'A',
      statusReason: 'Error: runaway: client.query() did not settle within 10000 ms',
      location: at(2),
    }
    const loop = {
      status: 'Timeout',
      mutatorName: 'ConditionalExpression',
      statusReason: 'Hit limit reached (430001/430000)',
      location: at(12),
    }
    expect([timedOut, runnerTimeout, assertion, loop].map(hung)).toEqual([true, true, false, false])
    expect([timedOut, runnerTimeout, assertion, loop].map(endlessLoop)).toEqual([false, false, false, true])
    const summary = summarise({
      files: { 'src/a.ts': { mutants: [assertion, timedOut, runnerTimeout, loop] } },
    })
    expect(summary.files['src/a.ts']?.score).toBe(100)
    expect(summary.files['src/a.ts']?.endlessLoops).toBe(1)
    expect(summary.files['src/a.ts']?.hung).toEqual([
      { line: 4, mutator: 'ConditionalExpression', status: 'Timeout', replacement: 'false' },
      { line: 9, mutator: 'BlockStatement', status: 'Killed', replacement: '{}' },
    ])
  })

  it('replaces the packages measured now and keeps the others from the previous summary, with when they were measured', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mutation-summary-'))
    const out = join(dir, 'mutation.json')
    const old = { score: 50, survived: 1, noCoverage: 0, files: {} }
    writeFileSync(
      out,
      JSON.stringify({
        generatedAt: '2026-01-01T00:00:00.000Z',
        packages: { 'packages-hono': old, 'packages-core': old },
      }),
    )
    mkdirSync(join(dir, 'reports', 'packages-core'), { recursive: true })
    writeFileSync(
      join(dir, 'reports', 'packages-core', 'mutation.json'),
      JSON.stringify({
        files: { 'a.ts': { mutants: [{ status: 'Killed', mutatorName: 'A', location: at(1) }] } },
      }),
    )
    const summary = writeSummary(join(dir, 'reports'), out)
    expect(summary.packages['packages-hono']).toEqual({ measuredAt: '2026-01-01T00:00:00.000Z', ...old })
    expect(summary.packages['packages-core']).toMatchObject({ score: 100, measuredAt: summary.generatedAt })
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(summary)
  })

  it('a run of some files of a package replaces those files and keeps the others, counting the score over all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mutation-summary-'))
    const out = join(dir, 'mutation.json')
    const file = (killed: number, survived: number) => ({
      score: 0,
      mutants: killed + survived,
      killed,
      survived,
      noCoverage: 0,
      ignored: 0,
      undetected: [],
    })
    writeFileSync(
      out,
      JSON.stringify({
        generatedAt: '2026-01-01T00:00:00.000Z',
        packages: {
          'packages-emulator': {
            measuredAt: '2026-01-01T00:00:00.000Z',
            score: 50,
            survived: 10,
            noCoverage: 0,
            files: { 'auth.ts': file(9, 1), 'batch.ts': file(1, 9) },
          },
        },
      }),
    )
    mkdirSync(join(dir, 'reports', 'packages-emulator'), { recursive: true })
    const mutants = [
      ...Array.from({ length: 9 }, () => ({ status: 'Killed', mutatorName: 'A', location: at(1) })),
      { status: 'Survived', mutatorName: 'B', location: at(2) },
    ]
    writeFileSync(
      join(dir, 'reports', 'packages-emulator', 'mutation.json'),
      JSON.stringify({ files: { 'batch.ts': { mutants } } }),
    )
    const entry = writeSummary(join(dir, 'reports'), out).packages['packages-emulator']
    expect(entry?.files['auth.ts']).toMatchObject({ measuredAt: '2026-01-01T00:00:00.000Z', killed: 9 })
    expect(entry?.files['batch.ts']).toMatchObject({
      measuredAt: entry?.measuredAt,
      killed: 9,
      survived: 1,
      score: 90,
    })
    expect(entry).toMatchObject({ score: 90, survived: 2, noCoverage: 0 })
  })
})
