import { request } from 'node:https'
import { rootCertificates } from 'node:tls'

/** What {@link getJson} answers: the status and the parsed body (`undefined` when it is not JSON). */
export interface JsonResponse {
  status: number
  body: unknown
}

/**
 * GET an https URL and parse its JSON, trusting Node's roots plus `ca` (the stand-in's CA), within `timeoutMs`.
 * @throws Error saying the origin could not be reached, or did not answer in time
 */
export function getJson(url: string, options: { ca?: string; timeoutMs: number }): Promise<JsonResponse> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: 'GET',
        headers: { accept: 'application/json' },
        ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          clearTimeout(timer)
          let body: unknown
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          } catch {}
          resolve({ status: res.statusCode ?? 0, body })
        })
      },
    )
    const timer = setTimeout(
      () => req.destroy(new Error(`${u.origin} did not answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    )
    req.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`could not reach ${u.origin}: ${e.message}`))
    })
    req.end()
  })
}
