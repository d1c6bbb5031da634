import { describe, expect, it } from 'vitest'
import { consentErrorText } from './consent-errors.ts'

describe('the consent callback’s error on the onboarding page', () => {
  it('is the app’s own text for each code, and never the text of the link', () => {
    expect(consentErrorText('CONSENT_DENIED')).toContain('declined the consent')
    expect(consentErrorText('TENANT_MISMATCH')).toContain('another tenant')
    for (const code of ['Call +1 555 0100', '<img src=x onerror=alert(1)>', '__proto__', 'toString', '']) {
      expect(consentErrorText(code)).toBe('The consent did not complete: start again.')
    }
  })
})
