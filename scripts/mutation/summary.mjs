// Turns Stryker's JSON reports (mutation-testing-report-schema) into one summary: score per package and per file,
// and every surviving or uncovered mutant, so a reviewer sees what no test catches.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const DETECTED = new Set(['Killed', 'Timeout'])
const UNDETECTED = new Set(['Survived', 'NoCoverage'])
// vitest's message when a test outlives its timeout: the mutant was detected, but by the clock, not by an assertion.
const RUNNER_TIMEOUT = /Test timed out in \d+ ?ms/

// Stryker's instrumentation counts loop iterations and stops a mutant past its limit: a synchronous endless loop.
const HIT_LIMIT = /^Hit limit reached/

/** A mutant that made synchronous code loop forever: no test can end that (nothing runs until it returns). */
export function endlessLoop(mutant) {
  return mutant.status === 'Timeout' && HIT_LIMIT.test(mutant.statusReason ?? '')
}

/**
 * A mutant that no assertion caught in time: Stryker stopped the run (Timeout) while a test waited, or the test
 * runner's own timeout failed the test. Each is a test that would hang on a broken guard instead of failing fast.
 */
export function hung(mutant) {
  if (mutant.status === 'Timeout') return !endlessLoop(mutant)
  return mutant.status === 'Killed' && RUNNER_TIMEOUT.test(mutant.statusReason ?? '')
}

/** Score as Stryker defines it: detected / (detected + undetected); ignored and invalid mutants do not count. */
export function score(mutants) {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length
  const undetected = mutants.filter((m) => UNDETECTED.has(m.status)).length
  return detected + undetected === 0 ? 100 : Math.round((detected / (detected + undetected)) * 10_000) / 100
}

/** Where a mutant is and what it changed, as the summary lists it. */
function where(m) {
  return {
    line: m.location.start.line,
    mutator: m.mutatorName,
    status: m.status,
    replacement: m.replacement ?? null,
  }
}

/** @param {{ files: Record<string, { mutants: any[] }> }} report */
export function summarise(report) {
  const files = {}
  const all = []
  for (const [path, file] of Object.entries(report.files)) {
    all.push(...file.mutants)
    files[path] = {
      score: score(file.mutants),
      mutants: file.mutants.length,
      killed: file.mutants.filter((m) => DETECTED.has(m.status)).length,
      survived: file.mutants.filter((m) => m.status === 'Survived').length,
      noCoverage: file.mutants.filter((m) => m.status === 'NoCoverage').length,
      ignored: file.mutants.filter((m) => m.status === 'Ignored').length,
      endlessLoops: file.mutants.filter(endlessLoop).length,
      hung: file.mutants.filter(hung).map(where),
      undetected: file.mutants.filter((m) => UNDETECTED.has(m.status)).map(where),
    }
  }
  return {
    score: score(all),
    survived: all.filter((m) => m.status === 'Survived').length,
    noCoverage: all.filter((m) => m.status === 'NoCoverage').length,
    files,
  }
}

/**
 * A package's entry after a run of some of its files: those files replace their earlier entries, the package's other
 * files keep theirs (each file says when it was measured), and the package's figures are counted over all of them.
 */
function mergePackage(previous, current, measuredAt) {
  const files = {}
  for (const [path, file] of Object.entries(previous?.files ?? {}))
    files[path] = { measuredAt: file.measuredAt ?? previous.measuredAt, ...file }
  for (const [path, file] of Object.entries(current.files)) files[path] = { measuredAt, ...file }
  const all = Object.values(files)
  const sum = (key) => all.reduce((n, f) => n + (f[key] ?? 0), 0)
  const detected = sum('killed')
  const undetected = sum('survived') + sum('noCoverage')
  return {
    measuredAt,
    score:
      detected + undetected === 0 ? 100 : Math.round((detected / (detected + undetected)) * 10_000) / 100,
    survived: sum('survived'),
    noCoverage: sum('noCoverage'),
    files,
  }
}

/**
 * Writes the summary of every report under `reportsDir`; a package measured earlier (elsewhere, or before its
 * report was cleaned) keeps its entry from `outFile`, with the time it was measured, and a package measured for some
 * of its files only keeps its other files' entries.
 */
export function writeSummary(reportsDir, outFile) {
  const generatedAt = new Date().toISOString()
  const previous = existsSync(outFile) ? JSON.parse(readFileSync(outFile, 'utf8')) : {}
  const packages = {}
  for (const [name, entry] of Object.entries(previous.packages ?? {}))
    packages[name] = { measuredAt: entry.measuredAt ?? previous.generatedAt, ...entry }
  if (existsSync(reportsDir)) {
    for (const name of readdirSync(reportsDir)) {
      const file = join(reportsDir, name, 'mutation.json')
      if (existsSync(file))
        packages[name] = mergePackage(
          packages[name],
          summarise(JSON.parse(readFileSync(file, 'utf8'))),
          generatedAt,
        )
    }
  }
  const summary = { generatedAt, tool: 'StrykerJS 9.6.1', packages }
  writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`)
  return summary
}
