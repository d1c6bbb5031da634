import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { EmulatorError } from './errors.ts'
import { prng } from './prng.ts'

/** What a fault does to a matching request. */
export type FaultKind = 'latency' | 'status' | '429' | 'drop'

/**
 * A fault injection rule.
 * - `scope`: 'entra' (the Entra ID server), 'dataverse' (every org) or an org id (that org only).
 * - `next`: applies to the next N matching requests, then expires; `rate`: applies to that fraction (0–1) of
 *   matching requests, drawn from the seeded generator; neither: applies to every matching request.
 * - `path`: only requests whose path contains this text.
 */
export interface FaultRule {
  scope: 'entra' | 'dataverse' | (string & {})
  kind: FaultKind
  rate?: number
  next?: number
  /** For 'status': the HTTP status (default 503). */
  status?: number
  /** For 'latency': the delay (default 1000 ms). */
  latencyMs?: number
  /** For '429': the `Retry-After` seconds (default 5). For 'status': sent as `Retry-After` when given (a 503 may carry one). */
  retryAfterSeconds?: number
  path?: string
  /**
   * For 'drop' and 'status': handle the request first (its changes are made), then drop the connection or answer the
   * status instead of the real response: a response lost on its way back, so the client cannot know a write happened.
   */
  after?: boolean
}

/** An installed rule, with its id and how many times it fired. */
export interface InstalledFault extends FaultRule {
  id: string
  fired: number
}

/** Waits `ms`, or less when `signal` aborts first (the client hung up: nobody is left to wait for the answer). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** The decision for one request: delays to wait, then at most one terminal fault. */
export interface FaultDecision {
  latencyMs: number
  terminal?: InstalledFault
}

/** Fault injection shared by the Entra ID server and every org; deterministic under `seed`. */
export class Faults {
  #rules: InstalledFault[] = []
  #random: () => number
  #seed: number

  constructor(seed = 1) {
    this.#seed = seed
    this.#random = prng(seed)
  }

  /**
   * Installs a rule; returns its id.
   * @throws {EmulatorError} 'INVALID_ARGUMENT' for an unknown kind, a rate outside 0–1, or a bad status / count.
   */
  add(rule: FaultRule): string {
    if (!['latency', 'status', '429', 'drop'].includes(rule.kind))
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Unknown fault kind '${String(rule.kind)}'; use latency, status, 429 or drop.`,
      )
    if (typeof rule.scope !== 'string' || rule.scope === '')
      throw new EmulatorError('INVALID_ARGUMENT', "A fault needs a scope: 'entra', 'dataverse' or an org id.")
    if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1))
      throw new EmulatorError('INVALID_ARGUMENT', 'A fault rate must be between 0 and 1.')
    if (rule.next !== undefined && !(Number.isInteger(rule.next) && rule.next > 0))
      throw new EmulatorError('INVALID_ARGUMENT', 'A fault `next` must be a positive integer.')
    if (
      rule.retryAfterSeconds !== undefined &&
      !(
        typeof rule.retryAfterSeconds === 'number' &&
        rule.retryAfterSeconds >= 0 &&
        rule.retryAfterSeconds <= 86_400
      )
    )
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        // fractions are allowed (tests use 0.05 s; Dataverse itself sends whole seconds), never a string in a header
        'A fault `retryAfterSeconds` must be a number of seconds, 0 to 86400.',
      )
    if (
      rule.status !== undefined &&
      !(Number.isInteger(rule.status) && rule.status >= 400 && rule.status <= 599)
    )
      throw new EmulatorError('INVALID_ARGUMENT', 'A fault status must be an HTTP error status (400–599).')
    if (
      rule.after !== undefined &&
      (typeof rule.after !== 'boolean' || (rule.kind !== 'drop' && rule.kind !== 'status'))
    )
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        "A fault's `after` is a boolean, for 'drop' and 'status' faults only (a lost response after the write).",
      )
    const installed: InstalledFault = { ...rule, id: randomUUID(), fired: 0 }
    this.#rules.push(installed)
    return installed.id
  }

  remove(id: string): boolean {
    const before = this.#rules.length
    this.#rules = this.#rules.filter((r) => r.id !== id)
    return this.#rules.length !== before
  }

  list(): InstalledFault[] {
    return this.#rules.map((r) => ({ ...r }))
  }

  /** Removes every rule and restarts the generator from `seed` (default: the current seed). */
  clear(seed = this.#seed): void {
    this.#rules = []
    this.#seed = seed
    this.#random = prng(seed)
  }

  /** Decides what happens to one request to `scope` ('entra' or an org id) at `path`. */
  decide(scope: string, path: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 }
    if (this.#rules.length === 0) return decision
    for (const rule of this.#rules) {
      const inScope = rule.scope === scope || (scope !== 'entra' && rule.scope === 'dataverse')
      if (!inScope || (rule.path !== undefined && !path.includes(rule.path))) continue
      if (rule.kind !== 'latency' && decision.terminal) continue
      if (rule.rate !== undefined && this.#random() >= rule.rate) continue
      if (rule.next !== undefined) {
        if (rule.next <= 0) continue
        rule.next--
      }
      rule.fired++
      if (rule.kind === 'latency') decision.latencyMs += rule.latencyMs ?? 1000
      else decision.terminal = rule
    }
    this.#rules = this.#rules.filter((r) => r.next === undefined || r.next > 0)
    return decision
  }

  /**
   * A Hono middleware applying the rules of `scope`: 'entra', or an org id (which also gets 'dataverse' rules).
   * `errorBody` shapes the body of 'status' and '429' faults (Entra's or Dataverse's error JSON).
   */
  middleware(
    scope: string,
    errorBody: (status: number, kind: '429' | 'status') => unknown = defaultBody(scope),
  ): MiddlewareHandler {
    return async (c, next) => {
      const { latencyMs, terminal } = this.decide(scope, c.req.path)
      if (latencyMs > 0) await sleep(latencyMs, c.req.raw.signal)
      if (!terminal) return next()
      if (terminal.after) {
        await next()
        c.res = await respond(c, terminal, errorBody)
        return
      }
      return respond(c, terminal, errorBody)
    }
  }
}

// Entra throttles with 429 + Retry-After, and names AADSTS50196 ("client request loop") in user flows
// (AzureAD/microsoft-authentication-library-for-dotnet wiki, "Client Throttling").
function defaultBody(scope: string): (status: number, kind: '429' | 'status') => unknown {
  if (scope === 'entra')
    return (status, kind) => ({
      error: kind === '429' ? 'temporarily_unavailable' : 'server_error',
      error_description:
        kind === '429'
          ? 'AADSTS50196: The server terminated an operation because it encountered a client request loop. Retry after the interval in Retry-After. (injected fault)'
          : `AADSTS90033: A transient error has occurred. Please try again. (injected fault, HTTP ${status})`,
      error_codes: [kind === '429' ? 50196 : 90033],
      timestamp: new Date()
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z'),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    })
  return (status, kind) => ({
    error:
      kind === '429'
        ? {
            code: '0x80072322',
            message: 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
          }
        : { code: '0x80040216', message: `An unexpected error occurred. (injected fault, HTTP ${status})` },
  })
}

function respond(
  c: Context,
  rule: InstalledFault,
  errorBody: (status: number, kind: '429' | 'status') => unknown,
): Response | Promise<Response> {
  if (rule.kind === 'drop') {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
    incoming?.socket.destroy()
    // The socket is gone; this response is never written.
    return new Response(null, { status: 500 })
  }
  if (rule.kind === '429') {
    const seconds = rule.retryAfterSeconds ?? 5
    return c.json(errorBody(429, '429'), 429, { 'Retry-After': String(seconds) })
  }
  const status = rule.status ?? 503
  return new Response(JSON.stringify(errorBody(status, 'status')), {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(rule.retryAfterSeconds !== undefined ? { 'retry-after': String(rule.retryAfterSeconds) } : {}),
    },
  })
}

/** One row of the token request counters. */
export interface TokenRequestCount {
  tenantId: string
  grantType: string
  outcome: string
  count: number
}

/** One row of the Dataverse request counters. */
export interface DataverseRequestCount {
  orgId: string
  callerId: string
  status: number
  count: number
}

/** A snapshot of the counters. */
export interface CounterSnapshot {
  tokenRequests: TokenRequestCount[]
  dataverseRequests: DataverseRequestCount[]
  totals: { tokenRequests: number; dataverseRequests: number }
}

/** Request counters: token requests per tenant, grant and outcome; Dataverse requests per org, caller and status. */
export class Counters {
  #tokens = new Map<string, TokenRequestCount>()
  #dataverse = new Map<string, DataverseRequestCount>()

  /** Counts a token request; `outcome` is 'success' or the OAuth `error` code. */
  tokenRequest(tenantId: string, grantType: string, outcome: string): void {
    const key = `${tenantId}|${grantType}|${outcome}`
    const row = this.#tokens.get(key)
    if (row) row.count++
    else this.#tokens.set(key, { tenantId, grantType, outcome, count: 1 })
  }

  /** Counts a Dataverse request; `callerId` is the caller's systemuserid or appid ('anonymous' when unauthenticated). */
  dataverseRequest(orgId: string, callerId: string, status: number): void {
    const key = `${orgId}|${callerId}|${status}`
    const row = this.#dataverse.get(key)
    if (row) row.count++
    else this.#dataverse.set(key, { orgId, callerId, status, count: 1 })
  }

  read(): CounterSnapshot {
    const tokenRequests = [...this.#tokens.values()].map((r) => ({ ...r }))
    const dataverseRequests = [...this.#dataverse.values()].map((r) => ({ ...r }))
    return {
      tokenRequests,
      dataverseRequests,
      totals: {
        tokenRequests: tokenRequests.reduce((n, r) => n + r.count, 0),
        dataverseRequests: dataverseRequests.reduce((n, r) => n + r.count, 0),
      },
    }
  }

  reset(): void {
    this.#tokens.clear()
    this.#dataverse.clear()
  }
}
