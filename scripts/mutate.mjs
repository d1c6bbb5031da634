// `pnpm mutate [package…]`: mutation testing (StrykerJS) of the code that guards security and data, then a summary
// in bench/results/mutation.json. Incremental: a re-run after a small change only tests the mutants it touched.
// Not part of `pnpm test:all` (a full run takes hours on two cores); see CONTRIBUTING.md.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { writeSummary } from './mutation/summary.mjs'

const roots = ['packages', 'apps']
const all = roots.flatMap((root) =>
  readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, 'stryker.config.mjs'))),
)
const wanted = process.argv.slice(2)
const selected = wanted.length
  ? all.filter((dir) =>
      wanted.some(
        (w) => dir === w || dir.endsWith(`/${w}`) || dir.endsWith(`/${w.replace(/^@dataverse-s2s\//, '')}`),
      ),
    )
  : all
if (selected.length === 0) {
  console.error(`No mutation config for ${wanted.join(', ')}. Packages with one: ${all.join(', ')}`)
  process.exit(2)
}
for (const dir of selected) {
  console.log(`\n=== mutation testing ${dir}`)
  const result = spawnSync('stryker', ['run', join(dir, 'stryker.config.mjs')], { stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`stryker failed for ${dir} (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
}
const summary = writeSummary('.stryker', 'bench/results/mutation.json')
for (const [pkg, s] of Object.entries(summary.packages))
  console.log(`${pkg}: ${s.score}% (${s.survived} survived)`)
