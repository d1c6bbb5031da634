import { DataverseFault, Fault } from './errors.ts'

/**
 * A privilege's access level (Learn, "Security concepts for developers"): Basic = the rows the user owns, Local = the
 * rows owned in the user's business unit, Deep = that unit and the units below it, Global = every row.
 */
export type AccessDepth = 'Basic' | 'Local' | 'Deep' | 'Global'

/** Who a request runs as. */
export interface CallContext {
  /** Effective user (the impersonated user when impersonating). */
  userId: string
  /** The authenticated caller. */
  callerId: string
  onBehalfOf: boolean
  can(privilege: string): boolean
  /** The access level at which the call holds a privilege (undefined: not held). */
  depth(privilege: string): AccessDepth | undefined
  /** `$batch` change set: Content-ID → entity path relative to the service root (`accounts(<id>)`). */
  contentIds?: Map<string, string>
}

export interface ApiRequest {
  method: string
  url: URL
  headers: Headers
  body: string | undefined
  /** The body's bytes, for a file column upload (absent inside a `$batch`). */
  bytes?: Uint8Array | undefined
}

export interface ApiResponse {
  status: number
  headers: Record<string, string>
  /** Text, or a file column's bytes. */
  body?: string | Uint8Array
}

/** Dataverse's page size limit (and the emulator's cap on one response's rows). */
export const MAX_PAGE = 5000

/** Parsed `Prefer` request header(s). */
export interface Preferences {
  returnRepresentation: boolean
  maxPageSize?: number
  annotations?: string[]
  continueOnError: boolean
  /** `Prefer: odata.track-changes` (change tracking, see changes.ts). */
  trackChanges?: boolean
}

export function parsePrefer(headers: Headers): Preferences {
  const prefs: Preferences = { returnRepresentation: false, continueOnError: false }
  const raw = headers.get('prefer')
  if (!raw) return prefs
  // preferences are comma-separated, but a quoted value (an annotation list) may contain commas itself
  for (const part of raw.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const eq = part.indexOf('=')
    const k = (eq < 0 ? part : part.slice(0, eq)).trim()
    const v = eq < 0 ? undefined : part.slice(eq + 1).trim()
    const key = k.toLowerCase()
    if (key === 'return' && v === 'representation') prefs.returnRepresentation = true
    else if (key === 'odata.maxpagesize' && v && /^\d+$/.test(v)) prefs.maxPageSize = Number(v)
    else if (key === 'odata.include-annotations' && v) {
      prefs.annotations = v.replace(/^"|"$/g, '').split(/[ ,]+/).filter(Boolean)
    } else if (key === 'odata.continue-on-error') prefs.continueOnError = true
    else if (key === 'odata.track-changes') prefs.trackChanges = true
  }
  return prefs
}

export function wantsAnnotation(prefs: Preferences, name: string): boolean {
  const list = prefs.annotations
  if (!list) return false
  return list.some((a) => a === '*' || a === name || (a.endsWith('.*') && name.startsWith(a.slice(0, -1))))
}

/** The JSON object of a request body, or a payload fault. */
export function parseBody(body: string | undefined, logicalName: string): Record<string, unknown> {
  if (body === undefined || body.trim() === '') {
    throw Fault.badPayload(logicalName, 'The request body is empty; send a JSON object.')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw Fault.badPayload(logicalName, 'The request body is not valid JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw Fault.badPayload(logicalName, 'The request body must be a JSON object.')
  }
  return parsed as Record<string, unknown>
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json; odata.metadata=minimal', ...headers },
    body: JSON.stringify(body),
  }
}

export function faultResponse(e: unknown): ApiResponse {
  if (e instanceof DataverseFault) {
    return json(e.status, { error: { code: e.code, message: e.message } }, e.headers)
  }
  return json(500, {
    error: { code: '0x80040216', message: 'An unexpected error occurred.' },
  })
}
