// The consent callback's `?error=` names what went wrong. Its `message` is not shown: anyone can craft that link, so
// the page says only what this app itself knows about each code.
const TEXTS: ReadonlyMap<string, string> = new Map([
  ['INVALID_STATE', 'This consent answer was not started here or was altered: start again.'],
  ['STATE_EXPIRED', 'The consent took too long and expired: start again.'],
  ['STATE_SESSION_MISMATCH', 'The consent was started in another browser: start again in this one.'],
  ['STATE_REUSED', 'This consent answer was already used: start again.'],
  [
    'CONSENT_DENIED',
    'The administrator declined the consent: start again and accept it to connect your organization.',
  ],
  [
    'CONSENT_REQUIRED',
    'Consent is still required: sign in as an administrator who can grant consent for the whole tenant, then start again.',
  ],
  ['CONSENT_FAILED', 'Entra ID could not complete the consent: start again in a minute.'],
  [
    'TENANT_MISMATCH',
    'The consent was given in another tenant than yours: sign in as an administrator of your organization’s tenant and start again.',
  ],
])

/** What the onboarding page says for the consent callback's `error` code (a generic text for any other value). */
export function consentErrorText(code: string): string {
  return TEXTS.get(code) ?? 'The consent did not complete: start again.'
}
