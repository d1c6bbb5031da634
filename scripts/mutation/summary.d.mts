export interface MutantLike {
  status: string
  mutatorName: string
  replacement?: string
  /** Why Stryker gave the mutant its status (for a killed one, the failing test's message). */
  statusReason?: string
  location: { start: { line: number; column: number } }
}
export interface FileSummary {
  /** When this file was last mutation-tested (in a written summary). */
  measuredAt?: string
  score: number
  mutants: number
  killed: number
  survived: number
  noCoverage: number
  ignored: number
  undetected: { line: number; mutator: string; status: string; replacement: string | null }[]
  /** Mutants that made synchronous code loop forever (stopped by Stryker's hit counter: no test can end them). */
  endlessLoops: number
  /** Mutants caught only by a timeout (Stryker's, or the test runner's) while a test waited, not by an assertion. */
  hung: { line: number; mutator: string; status: string; replacement: string | null }[]
}
export interface ReportSummary {
  /** When this package was last mutation-tested. */
  measuredAt?: string
  score: number
  survived: number
  noCoverage: number
  files: Record<string, FileSummary>
}
export function hung(mutant: MutantLike): boolean
export function endlessLoop(mutant: MutantLike): boolean
export function score(mutants: MutantLike[]): number
export function summarise(report: { files: Record<string, { mutants: MutantLike[] }> }): ReportSummary
export function writeSummary(
  reportsDir: string,
  outFile: string,
): { generatedAt: string; tool: string; packages: Record<string, ReportSummary> }
