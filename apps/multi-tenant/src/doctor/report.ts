/** How one step of the configuration check ended: `warn` passes but needs attention soon, `skip` did not apply. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'

/** One step of the check: what was found and, when it is not ok, the exact fix. */
export interface CheckResult {
  step: string
  status: CheckStatus
  detail: string
  fix?: string
}

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' }

/** 1 when any step failed, else 0 (warnings pass). */
export function exitCodeOf(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === 'fail') ? 1 : 0
}

/**
 * The report, one step per line with its fix below, every literal secret of `secrets` replaced: the messages are
 * built not to hold any, this is the last line of defence.
 */
export function formatReport(results: readonly CheckResult[], secrets: readonly string[]): string {
  const lines = results.flatMap((r) => [
    `[${MARK[r.status]}] ${r.step}: ${r.detail}`,
    ...(r.fix ? [`       fix: ${r.fix}`] : []),
  ])
  const failed = results.filter((r) => r.status === 'fail').length
  lines.push(
    '',
    failed === 0
      ? 'All checks passed.'
      : `${failed} check${failed === 1 ? '' : 's'} failed: fix ${failed === 1 ? 'it' : 'them'} and run the doctor again.`,
  )
  return redact(lines.join('\n'), secrets)
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text
  // longest first, so a secret that contains another is removed whole
  for (const s of [...secrets].filter((x) => x.length >= 6).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('[redacted]')
  }
  return out
}
