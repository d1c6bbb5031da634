import { DataverseError } from '../errors.ts'
import { buildQueryString, type QueryOptions } from '../query.ts'
import type { CallOptions, Impersonation } from '../types.ts'
import { encodeQueryValue } from './paths.ts'
import type { PipelineConfig, SendResult, SendSpec } from './pipeline.ts'
import { mergePrefer } from './prefer.ts'

/** Shared by a client and the clients derived from it. */
export interface ClientCore {
  config: PipelineConfig
  retryCreates: boolean
  send(spec: SendSpec): Promise<SendResult>
  /** The latest `x-ms-session-token` a response carried. */
  sessionToken: string | undefined
}

export function impersonationHeaders(who: Impersonation | undefined, target: Record<string, string>): void {
  if (!who) return
  if ('callerObjectId' in who) {
    if (!/^[0-9a-f-]{36}$/i.test(who.callerObjectId)) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        'callerObjectId must be the Entra object id (a GUID) of the user.',
      )
    }
    target.callerobjectid = who.callerObjectId
  } else if ('systemUserId' in who) {
    if (!/^[0-9a-f-]{36}$/i.test(who.systemUserId)) {
      throw new DataverseError('INVALID_ARGUMENT', 'systemUserId must be a systemuserid GUID.')
    }
    target.mscrmcallerid = who.systemUserId
  }
}

export function callHeaders(
  defaults: Impersonation | undefined,
  options: CallOptions | undefined,
  extra?: Record<string, string>,
): Record<string, string> {
  const headers: Record<string, string> = { ...extra }
  impersonationHeaders(options?.impersonate ?? defaults, headers)
  if (options?.bypassCustomPluginExecution) headers['mscrm.bypasscustompluginexecution'] = 'true'
  if (options?.solutionUniqueName) headers['mscrm.solutionuniquename'] = options.solutionUniqueName
  if (options?.sessionToken !== undefined) {
    if (typeof options.sessionToken !== 'string' || !/^[\x21-\x7e]+$/.test(options.sessionToken)) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        'sessionToken must be the x-ms-session-token value a write answered (printable ASCII, no spaces).',
      )
    }
    headers['mscrm.sessiontoken'] = options.sessionToken
  }
  const bypass = options?.bypassBusinessLogicExecution
  if (bypass?.length) {
    if (!bypass.every((v) => v === 'CustomSync' || v === 'CustomAsync')) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        'bypassBusinessLogicExecution takes CustomSync and/or CustomAsync.',
      )
    }
    headers['mscrm.bypassbusinesslogicexecution'] = [...new Set(bypass)].join(',')
  }
  const steps = options?.bypassBusinessLogicExecutionStepIds
  if (steps?.length) {
    if (!steps.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        'bypassBusinessLogicExecutionStepIds takes plug-in step registration ids (GUIDs).',
      )
    }
    headers['mscrm.bypassbusinesslogicexecutionstepids'] = steps.join(',')
  }
  if (options?.headers) {
    for (const [k, v] of Object.entries(options.headers)) {
      const name = k.toLowerCase()
      // The call's own Prefer adds to what its options ask for (return=representation, annotations, page size).
      headers[name] = name === 'prefer' ? mergePrefer(headers.prefer, v) : v
    }
  }
  return headers
}

export function parseJson<T>(result: SendResult, method: string, path: string): T {
  try {
    return JSON.parse(result.text) as T
  } catch (cause) {
    throw new DataverseError('INVALID_RESPONSE', `${method} ${path}: the response body is not JSON.`, {
      status: result.status,
      method,
      path,
      cause,
    })
  }
}

export function prefer(...values: (string | undefined | false)[]): Record<string, string> {
  const present = values.filter((v): v is string => typeof v === 'string')
  return present.length ? { prefer: present.join(',') } : {}
}

/** `?$select=…&$expand=…` for one row: a retrieve, or the row a write returns. `''` without either. */
export function rowQuery(
  options:
    | { select?: readonly string[] | undefined; expand?: QueryOptions['expand'] | undefined }
    | undefined,
): string {
  return buildQueryString({
    ...(options?.select?.length ? { select: options.select } : {}),
    ...(options?.expand ? { expand: options.expand } : {}),
  })
}

export const jsonHeaders = { 'content-type': 'application/json; charset=utf-8' }

function parameter(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') {
    throw new DataverseError('INVALID_ARGUMENT', `${name} must be a non-empty string.`)
  }
  return `${name}=${encodeQueryValue(value, name)}`
}

/**
 * The optional parameters Dataverse reads from the URL rather than from a header (Microsoft Learn: Use optional
 * parameters): `tag` (a shared variable for plug-ins) and, for elastic tables, `partitionId`.
 */
export function urlParameters(
  options: (CallOptions & { partitionId?: string | undefined }) | undefined,
): string | undefined {
  // Every request passes here: most carry neither, and leave without building anything.
  if (options?.tag === undefined && options?.partitionId === undefined) return undefined
  const tag = parameter('tag', options.tag)
  const partition = parameter('partitionId', options.partitionId)
  return tag && partition ? `${tag}&${partition}` : (tag ?? partition)
}

/** The body of a single-property `PUT`: `{ "value": … }`. `undefined` would send `{}`, which sets nothing. */
export function propertyValue(value: unknown): { value: unknown } {
  if (value === undefined) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      'setProperty needs a value: pass null or use clearProperty to clear the column.',
    )
  }
  return { value }
}

/** The per-call `send` options every operation forwards. */
export function common(
  options: (CallOptions & { partitionId?: string | undefined }) | undefined,
): Pick<SendSpec, 'signal' | 'timeoutMs' | 'retry' | 'parameters'> {
  return {
    signal: options?.signal,
    timeoutMs: options?.timeoutMs,
    retry: options?.retry,
    parameters: urlParameters(options),
  }
}

/** What the operations of one client (one impersonation) share. */
export interface Scope {
  core: ClientCore
  impersonate: Impersonation | undefined
  baseUrl: string
  headersFor(options: CallOptions | undefined, extra?: Record<string, string>): Record<string, string>
}

export function scopeOf(core: ClientCore, impersonate: Impersonation | undefined): Scope {
  return {
    core,
    impersonate,
    baseUrl: core.config.baseUrl,
    headersFor: (options, extra) => callHeaders(impersonate, options, extra),
  }
}
