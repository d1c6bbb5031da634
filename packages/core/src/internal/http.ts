import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
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

let defaultCa: string[] | undefined
async function caBundle(extra: string | readonly string[] | undefined): Promise<string[] | undefined> {
  if (!extra || extra.length === 0) return undefined
  if (!defaultCa) {
    const tls = await import('node:tls')
    // passing `ca` replaces Node's roots, so keep trusting them when adding ours
    defaultCa = [...tls.rootCertificates]
  }
  return [...defaultCa, ...(typeof extra === 'string' ? [extra] : extra)]
}

/** One HTTP(S) request with a timeout and optional extra trusted CAs; the body is read as text. */
export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
  options: HttpOptions = {},
): Promise<HttpResponse> {
  const u = new URL(url)
  const ca = u.protocol === 'https:' ? await caBundle(options.ca) : undefined
  const timeoutMs = options.timeoutMs ?? 10_000
  const doRequest = u.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<HttpResponse>((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers }
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body))
    const req = doRequest(u, { method: init.method ?? 'GET', headers, ...(ca ? { ca } : {}) }, (res) => {
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
