import { isCoreError } from '@dataverse-s2s/core'
import { isDataverseError } from '@dataverse-s2s/webapi'
import type { Context } from 'hono'
import { errorResponse } from './errors.ts'

/**
 * Turns an error from a Dataverse call into a JSON answer for your API's caller, or returns `undefined` when the error
 * is not one of ours (let your own handler deal with it). Messages tell the user (or their admin) what to do; the
 * Dataverse request id is kept for support. Tokens never appear (the errors of core and webapi never hold them).
 *
 * | cause | status | code |
 * |---|---|---|
 * | missing privilege, impersonated user without rights | 403 | `dataverse_forbidden` |
 * | application user missing or disabled (`0x80072560`) | 403 | `application_user_missing` |
 * | row not found | 404 | `not_found` |
 * | stale etag (412) | 412 | `etag_mismatch` |
 * | service-protection limit beyond the retry budget | 429 | `throttled` (+ `Retry-After`) |
 * | bad input refused by Dataverse | 400 | `bad_request` |
 * | no app-only token (consent revoked, wrong secret) | 502 | `org_connection_failed` |
 * | Dataverse unreachable or failing | 502 / 504 | `dataverse_unavailable` / `dataverse_timeout` |
 * @example
 * app.onError((err, c) => dataverseErrorResponse(err, c) ?? c.json({ error: { code: 'internal', message: 'Unexpected error' } }, 500))
 */
export function dataverseErrorResponse(error: unknown, c: Context): Response | undefined {
  if (isCoreError(error)) {
    return errorResponse(
      c,
      502,
      'org_connection_failed',
      'The app could not get access to your organization (the consent may have been revoked): ask your administrator to re-verify the connection.',
    )
  }
  if (!isDataverseError(error)) return undefined
  const actor = c.get('actor')
  const requestId = error.requestId
  const withId = (message: string) => (requestId ? `${message} (Dataverse request id ${requestId})` : message)
  const serverMessage = serverText(error.body)
  switch (error.code) {
    case 'FORBIDDEN':
      if (error.serviceCode === '0x80072560') {
        return errorResponse(
          c,
          403,
          'application_user_missing',
          withId(
            'The app’s application user is missing or disabled in your organization: ask your administrator to re-verify the connection.',
          ),
        )
      }
      return errorResponse(
        c,
        403,
        'dataverse_forbidden',
        withId(
          `${actor === 'user' ? 'Dataverse refused this for your own account (you are acting as yourself): ask your administrator for a security role with this privilege' : 'The app’s security role lacks this privilege: ask your administrator to update the role'}.${serverMessage ? ` Dataverse said: ${serverMessage}` : ''}`,
        ),
      )
    case 'NOT_FOUND':
      return errorResponse(
        c,
        404,
        'not_found',
        withId('That record does not exist (it may have been deleted).'),
      )
    case 'PRECONDITION_FAILED':
      return errorResponse(
        c,
        412,
        'etag_mismatch',
        withId('Someone changed this record since you opened it: reload it and apply your change again.'),
      )
    case 'THROTTLED': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000))
      return errorResponse(c, 429, 'throttled', withId(`Dataverse is busy: try again in ${seconds} s.`), {
        'Retry-After': String(seconds),
      })
    }
    case 'BAD_REQUEST':
    case 'INVALID_ARGUMENT':
      return errorResponse(
        c,
        400,
        'bad_request',
        withId(`Dataverse refused the request${serverMessage ? `: ${serverMessage}` : ''}.`),
      )
    case 'TOKEN':
    case 'UNAUTHORIZED':
      return errorResponse(
        c,
        502,
        'org_connection_failed',
        withId(
          'The app could not authenticate to your organization (the consent may have been revoked): ask your administrator to re-verify the connection.',
        ),
      )
    case 'TIMEOUT':
      return errorResponse(
        c,
        504,
        'dataverse_timeout',
        withId('Dataverse did not answer in time: try again.'),
      )
    default:
      return errorResponse(
        c,
        502,
        'dataverse_unavailable',
        withId('Dataverse could not complete the request: try again later.'),
      )
  }
}

function serverText(body: unknown): string | undefined {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message.slice(0, 300)
  }
  return undefined
}
