import type { CheckResult } from './report.ts'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * Step 4: `PUBLIC_URL` as written can be registered as the app's redirect URIs: the SPA platform's is `PUBLIC_URL`
 * exactly, the Web platform's `PUBLIC_URL/onboarding/callback`. Entra ID compares them character for character
 * (AADSTS50011) and takes `http` only for localhost (Learn: "Redirect URI (reply URL) restrictions"). The app's
 * registration is not readable with the app's own credential, so the URIs to register are printed.
 */
export function checkRedirectUris(rawPublicUrl: string): CheckResult {
  const step = 'redirect URIs'
  let url: URL
  try {
    url = new URL(rawPublicUrl)
  } catch {
    return {
      step,
      status: 'fail',
      detail: `PUBLIC_URL "${rawPublicUrl}" is not a URL`,
      fix: 'set PUBLIC_URL to the origin people open, e.g. https://app.example.com or http://localhost:5173',
    }
  }
  const origin = url.origin
  const problems: string[] = []
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    problems.push(
      `${url.protocol.replace(':', '')} is allowed only for localhost; Entra ID refuses other http redirect URIs`,
    )
  }
  if (rawPublicUrl.endsWith('/')) problems.push('it ends with a slash')
  else if (url.pathname !== '/')
    problems.push(`it has a path (${url.pathname}); the sample serves the SPA at the root`)
  if (url.search || url.hash) problems.push('it has a query or fragment')
  const fixed = url.protocol === 'https:' || LOOPBACK.has(url.hostname) ? origin : `https://${url.host}`
  const register = (base: string) =>
    `register the Single-page application redirect URI ${base} and the Web redirect URI ${base}/onboarding/callback (Authentication page of the app registration)`
  if (problems.length) {
    return {
      step,
      status: 'fail',
      detail: `PUBLIC_URL "${rawPublicUrl}": ${problems.join('; ')}`,
      fix: `set PUBLIC_URL=${fixed} (scheme, host and port only, no trailing slash), then ${register(fixed)}`,
    }
  }
  return {
    step,
    status: 'ok',
    detail: `PUBLIC_URL ${origin}: ${register(origin)}; they must match exactly or Entra ID answers AADSTS50011`,
  }
}
