/** A structured log line; fields hold ids, codes and durations, never a token, secret or state. */
export type LogFields = Record<string, string | number | boolean | undefined>

export interface AppLogger {
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g
const PARAM = /\b(client_secret|client_assertion|access_token|refresh_token|id_token|code|state)=([^&\s"]+)/gi

/** Removes anything shaped like a JWT or a sensitive parameter, and the given literal secrets. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(JWT, '[redacted-jwt]').replace(PARAM, '$1=[redacted]')
  for (const s of secrets) if (s && s.length >= 8) out = out.split(s).join('[redacted]')
  return out
}

/** JSON lines on stdout/stderr (or `sink`), each redacted as a last line of defence. */
export function createLogger(
  options: { secrets?: () => readonly string[]; sink?: (line: string) => void; quiet?: boolean } = {},
): AppLogger {
  const write = (level: string, message: string, fields?: LogFields) => {
    if (options.quiet && level === 'info') return
    // The line's own time, level and message win over fields of those names: an error's `message` field would
    // otherwise hide "unexpected error" from whoever searches the logs for it.
    const head = { time: new Date().toISOString(), level, message }
    const line = redact(JSON.stringify({ ...head, ...fields, ...head }), options.secrets?.() ?? [])
    if (options.sink) options.sink(line)
    else if (level === 'info') process.stdout.write(`${line}\n`)
    else process.stderr.write(`${line}\n`)
  }
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}
