import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls'
import type { HttpOptions } from '../http-options.ts'

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  text: string
}

export class HttpTimeoutError extends Error {
  override name = 'HttpTimeoutError'
}

export class HttpNetworkError extends Error {
  override name = 'HttpNetworkError'
}

/** What a TLS connection trusting the extra CAs needs: the extra CAs (the agent's pool key) and a prepared context. */
export interface ExtraTrust {
  extra: string[]
  secureContext: SecureContext
}

// Parsing Node's ~140 roots plus the extra CA into a TLS context takes tens of milliseconds of CPU: done per new
// connection, every token request to the emulator paid it. One context per distinct set of extra CAs instead.
const trusts = new Map<string, ExtraTrust>()
const MAX_TRUSTS = 16

/** The trust for `extra` CAs on top of Node's roots, built once per distinct set; `undefined` without extra CAs. */
export function extraTrust(extra: string | readonly string[] | undefined): ExtraTrust | undefined {
  if (!extra || extra.length === 0) return undefined
  const list = typeof extra === 'string' ? [extra] : [...extra]
  const key = list.join('\n')
  let trust = trusts.get(key)
  if (!trust) {
    // passing `ca` replaces Node's roots, so keep trusting them when adding ours
    trust = { extra: list, secureContext: createSecureContext({ ca: [...rootCertificates, ...list] }) }
    if (trusts.size >= MAX_TRUSTS) trusts.delete(trusts.keys().next().value as string)
    trusts.set(key, trust)
  }
  return trust
}

/** One HTTP(S) request with a timeout and optional extra trusted CAs; the body is read as text. */
export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
  options: HttpOptions = {},
): Promise<HttpResponse> {
  const u = new URL(url)
  const trust = u.protocol === 'https:' ? extraTrust(options.ca) : undefined
  const timeoutMs = options.timeoutMs ?? 10_000
  const doRequest = u.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<HttpResponse>((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers }
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body))
    // TLS uses the prepared context (Node's tls.connect takes `secureContext` over `ca`); `ca` names the trust in the
    // agent's pool key, so connections of different trusts are never shared.
    const tlsOptions = trust ? { ca: trust.extra, secureContext: trust.secureContext } : {}
    const req = doRequest(u, { method: init.method ?? 'GET', headers, ...tlsOptions }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (e) =>
        reject(new HttpNetworkError(`Reading the response of ${u.origin} failed: ${e.message}`)),
      )
      res.on('end', () => {
        clearTimeout(timer)
        const out: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v
        }
        resolve({ status: res.statusCode ?? 0, headers: out, text: Buffer.concat(chunks).toString('utf8') })
      })
    })
    const timer = setTimeout(() => {
      req.destroy(new HttpTimeoutError(`${u.origin} did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    const onAbort = () => req.destroy(new HttpTimeoutError(`The request to ${u.origin} was aborted`))
    init.signal?.addEventListener('abort', onAbort, { once: true })
    req.on('error', (e) => {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', onAbort)
      if (e instanceof HttpTimeoutError) reject(e)
      else reject(new HttpNetworkError(`Could not reach ${u.origin}: ${e.message}`, { cause: e }))
    })
    req.on('close', () => {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', onAbort)
    })
    if (init.body !== undefined) req.write(init.body)
    req.end()
  })
}
