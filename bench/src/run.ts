// `pnpm bench <name>` runs one benchmark from ./benchmarks/<name>.ts, prints its table and writes
// bench/results/<name>.json. Every benchmark measures ours and the peer side by side in the same run.
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchmarkResult } from './report.ts'
import { printResult } from './report.ts'

const here = dirname(fileURLToPath(import.meta.url))
const name = process.argv[2]
const available = (await readdir(join(here, 'benchmarks')))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3))

if (!name || !available.includes(name)) {
  console.error(`Usage: pnpm bench <name>\nAvailable: ${available.join(', ') || '(none yet)'}`)
  process.exit(name ? 1 : 0)
}

const mod = (await import(join(here, 'benchmarks', `${name}.ts`))) as { run: () => Promise<BenchmarkResult> }
const result = await mod.run()
printResult(name, result)
const out = join(here, '..', 'results', `${name}.json`)
await mkdir(dirname(out), { recursive: true })
await writeFile(
  out,
  `${JSON.stringify({ name, date: new Date().toISOString(), node: process.version, ...result }, null, 2)}\n`,
)
console.log(`\nwrote ${out}`)
process.exit(0)
