import { describe, expect, it } from 'vitest'
import { toTokenError } from './aadsts.ts'

const ctx = {
  clientId: '11111111-1111-1111-1111-111111111111',
  tenantId: '22222222-2222-2222-2222-222222222222',
  resource: 'https://contoso.crm.dynamics.com',
  consentUrl: (tenantId: string) => `https://login.microsoftonline.com/${tenantId}/v2.0/adminconsent`,
  secrets: [],
  managedIdentity: false,
}

// The shape of MSAL's ServerError for an invalid_scope answer (errorNo carries the AADSTS number).
function serverError(errorNo: string, text: string) {
  return Object.assign(new Error(text), { errorCode: 'invalid_scope', errorNo, errorMessage: text })
}

describe('AADSTS mapping of scope errors', () => {
  it('maps AADSTS1002012 (no /.default on a client-credentials scope) to INVALID_SCOPE and says to add /.default', () => {
    const e = toTokenError(
      serverError(
        '1002012',
        'AADSTS1002012: The provided value for scope https://contoso.crm.dynamics.com is not valid.',
      ),
      ctx,
    )
    expect(e.code).toBe('INVALID_SCOPE')
    expect(e.details.aadsts).toBe(1002012)
    expect(e.message).toContain('/.default')
    expect(e.message).toContain('AADSTS1002012')
  })

  it('finds 1002012 in the message when MSAL gives no errorNo', () => {
    const e = toTokenError(
      Object.assign(new Error('x'), {
        errorCode: 'invalid_scope',
        errorMessage: 'AADSTS1002012: Client credential flows must have a scope value with /.default',
      }),
      ctx,
    )
    expect(e.code).toBe('INVALID_SCOPE')
  })

  it('keeps mapping AADSTS70011 to INVALID_SCOPE', () => {
    expect(toTokenError(serverError('70011', 'AADSTS70011: invalid scope'), ctx).code).toBe('INVALID_SCOPE')
  })
})
