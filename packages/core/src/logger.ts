/** Structured fields of a log line. Never holds a secret, an assertion or a token. */
export type LogFields = Record<string, string | number | boolean | undefined>

/**
 * Where the package reports what it does (cache misses, refreshes, failures, MSAL's warnings). Every method is
 * optional; `console` fits. Lines never contain a secret, an assertion or a token.
 */
export interface Logger {
  debug?(message: string, fields?: LogFields): void
  info?(message: string, fields?: LogFields): void
  warn?(message: string, fields?: LogFields): void
  error?(message: string, fields?: LogFields): void
}

const jwtLike = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g
const sensitiveParam =
  /\b(client_secret|client_assertion|access_token|refresh_token|id_token|assertion|code)=([^&\s"]+)/gi

/** Removes anything shaped like a JWT or a sensitive form parameter, plus the given literal secrets. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(jwtLike, '[redacted-jwt]').replace(sensitiveParam, '$1=[redacted]')
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('[redacted]')
  }
  return out
}

/** A logger that redacts every message and string field before passing it on. */
export function safeLogger(logger: Logger | undefined, secrets: () => readonly string[]): Required<Logger> {
  const wrap =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      const fn = logger?.[level]
      if (!fn) return
      const s = secrets()
      let clean: LogFields | undefined
      if (fields) {
        clean = {}
        for (const [k, v] of Object.entries(fields)) clean[k] = typeof v === 'string' ? redact(v, s) : v
      }
      try {
        if (clean) fn.call(logger, redact(message, s), clean)
        else fn.call(logger, redact(message, s))
      } catch {
        // a broken logger must not break token acquisition
      }
    }
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') }
}
