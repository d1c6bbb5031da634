// The README's test command after install: every check CI makes, in order, stopping at the first failure.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { ensureChromium } from '@dataverse-s2s/test-browser/ensure-chromium'
import { ensureServices } from './ensure-services.mjs'

const resultsFile = 'node_modules/.cache/vitest-results.json'

process.env.TURBO_TELEMETRY_DISABLED = '1'
process.env.DO_NOT_TRACK = '1'

const steps = [
  ['typecheck', 'turbo', ['run', 'typecheck', '--output-logs=errors-only']],
  ['typecheck (repo tooling)', 'tsc', ['-p', 'scripts/tsconfig.json']],
  ['lint', 'biome', ['check', '.']],
  ['unused code and dependencies', 'knip', []],
  ['boundaries', 'pnpm', ['run', '--silent', 'lint:boundaries']],
  ['build', 'turbo', ['run', 'build', '--output-logs=errors-only']],
  ['package checks', 'turbo', ['run', 'check:package', '--output-logs=errors-only']],
  ['tests', 'vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`]],
]

ensureChromium()
await ensureServices()
for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`)
  const started = Date.now()
  const result = spawnSync(cmd, args, { stdio: 'inherit', shell: false })
  if (result.status !== 0) {
    console.error(`\n${name} failed (exit ${result.status ?? result.signal}).`)
    process.exit(result.status ?? 1)
  }
  console.log(`=== ${name} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

// One plain closing line with the totals of every suite.
const results = JSON.parse(readFileSync(resultsFile, 'utf8'))
console.log(
  `\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped`,
)
