const jwt = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/

/** Every text an error exposes: message, stack, details and the whole cause chain (MSAL's errors included). */
function texts(error: unknown): string[] {
  const out: string[] = []
  let cur: unknown = error
  for (let depth = 0; depth < 8 && cur; depth++) {
    if (cur instanceof Error) {
      out.push(cur.message, cur.stack ?? '')
      const own: Record<string, unknown> = {}
      for (const k of Object.keys(cur)) own[k] = (cur as unknown as Record<string, unknown>)[k]
      try {
        out.push(JSON.stringify(own))
      } catch {
        // circular: messages are enough
      }
      cur = (cur as { cause?: unknown }).cause
    } else {
      out.push(String(cur))
      break
    }
  }
  return out
}

/** Returns what leaked: `secret:<first 6 chars>` for a literal secret, `jwt` for anything shaped like a token. */
export function secretsSeen(input: { errors: unknown[]; logLines: string[]; secrets: string[] }): string[] {
  const found = new Set<string>()
  const all = [...input.errors.flatMap(texts), ...input.logLines]
  for (const text of all) {
    for (const s of input.secrets) if (s && text.includes(s)) found.add(`secret:${s.slice(0, 6)}`)
    if (jwt.test(text)) found.add(`jwt in: ${text.slice(0, 80)}`)
  }
  return [...found]
}
