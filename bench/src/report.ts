export interface BenchmarkRow {
  /** What was measured, e.g. "ours, 1,000 tenants". */
  case: string
  [figure: string]: string | number
}

export interface BenchmarkResult {
  /** One row per measured case, ours and the peer's side by side. */
  rows: BenchmarkRow[]
  /** Ratios between cases of the same run, e.g. `{ "ours / msal at 10,000 tenants": 1234 }`. */
  ratios: Record<string, number>
  /** Targets from the issue, each with whether this run met it. */
  targets?: Record<string, { target: string; value: number; met: boolean }>
  notes?: string[]
}

export function printResult(name: string, result: BenchmarkResult): void {
  console.log(`\n# ${name}\n`)
  console.table(result.rows)
  console.log('\nratios:')
  for (const [k, v] of Object.entries(result.ratios)) console.log(`  ${k}: ${v.toFixed(2)}x`)
  if (result.targets) {
    console.log('\ntargets:')
    for (const [k, t] of Object.entries(result.targets)) {
      console.log(`  ${t.met ? 'MET ' : 'MISS'} ${k}: ${t.value} (target ${t.target})`)
    }
  }
  for (const n of result.notes ?? []) console.log(`note: ${n}`)
}
