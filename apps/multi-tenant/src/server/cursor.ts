import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Paging cursors hand Dataverse's `@odata.nextLink` to the browser and back. They are signed and bound to the
 * scope the caller passes (the data routes bind tenant, user `oid`, table, actor kind and page size), so a cursor can
 * never point a request at another org, another user's paging, another table or altered query options.
 */
export function signCursor(secret: string, scope: string, nextLink: string): string {
  const body = Buffer.from(nextLink, 'utf8').toString('base64url')
  return `${body}.${mac(secret, scope, body)}`
}

/** The nextLink inside a cursor, or `undefined` when it was not issued for this scope. */
export function openCursor(secret: string, scope: string, cursor: string): string | undefined {
  const [body, given] = cursor.split('.')
  if (!body || !given || cursor.split('.').length !== 2) return undefined
  const expected = Buffer.from(mac(secret, scope, body))
  const actual = Buffer.from(given)
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined
  return Buffer.from(body, 'base64url').toString('utf8')
}

function mac(secret: string, scope: string, body: string): string {
  return createHmac('sha256', secret).update(`cursor\n${scope}\n${body}`).digest('base64url')
}
