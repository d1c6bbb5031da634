import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { score, summarise, writeSummary } from '../mutation/summary.mjs'

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
})
