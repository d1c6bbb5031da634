// The consent state and redirect at their edges: a correctly signed state whose content is not a state, what each
// refusal tells the developer, and the scopes of a redirect. Each manager is built inside its test.
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createConsentStateManager, parseAdminConsentRedirect } from './consent.ts'
import { ConsentError } from './errors.ts'

const secret = 'y'.repeat(32)
const tenant = '11111111-2222-3333-4444-555555555555'
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url')
/** A state signed with the app's own secret (as a leaked-secret attacker or a bug could make one). */
const signed = (payloadText: string) => {
  const payload = b64(payloadText)
  return `${payload}.${b64(createHmac('sha256', secret).update(payload).digest())}`
}

async function refusal(p: Promise<unknown>): Promise<ConsentError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(ConsentError)
  return e as ConsentError
}

describe('consent state content', () => {
  it('refuses a correctly signed state that is not JSON, keeping the parse error as the cause', async () => {
    const states = createConsentStateManager({ secret })
    const e = await refusal(states.verify(signed('not json'), 's'))
    expect(e.code).toBe('INVALID_STATE')
    expect(e.message).toBe('The consent state is malformed: start the consent again')
    expect(e.cause).toBeInstanceOf(SyntaxError)
  })

  it('refuses a correctly signed state without its nonce, session or expiry', async () => {
    const states = createConsentStateManager({ secret })
    for (const body of [
      { s: 'x', e: Date.now() + 60_000 },
      { n: 'n', e: Date.now() + 60_000 },
      { n: 'n', s: 'x' },
    ]) {
      const e = await refusal(states.verify(signed(JSON.stringify(body)), 's'))
      expect(e.code).toBe('INVALID_STATE')
      expect(e.message).toBe('The consent state is malformed: start the consent again')
    }
  })

  it('refuses a state with a missing session as started in another session', async () => {
    const states = createConsentStateManager({ secret })
    const e = await refusal(states.verify(states.create('s'), undefined as never))
    expect(e.code).toBe('STATE_SESSION_MISMATCH')
    expect(e.message).toBe(
      'The consent was started in another browser session: start it again from this browser',
    )
  })
})

describe('parseAdminConsentRedirect', () => {
  it('returns no scopes when the redirect names none, and splits them on any whitespace', async () => {
    const states = createConsentStateManager({ secret })
    const base = { admin_consent: 'True', tenant }
    const none = await parseAdminConsentRedirect(
      new URLSearchParams({ ...base, state: states.create('s') }),
      {
        states,
        sessionId: 's',
      },
    )
    expect(none.scopes).toEqual([])
    const two = await parseAdminConsentRedirect(
      new URLSearchParams({ ...base, state: states.create('s'), scope: ' a  b\tc ' }),
      { states, sessionId: 's' },
    )
    expect(two.scopes).toEqual(['a', 'b', 'c'])
  })

  it.each([
    ['access_denied', 'The administrator declined the consent'],
    [
      'consent_required',
      'Consent is still required: the person who signed in may not be an administrator of the tenant',
    ],
    ['server_error', 'Entra ID reported "server_error" during admin consent'],
  ])('says what error=%s means and who can fix it', async (error, what) => {
    const states = createConsentStateManager({ secret })
    const e = await refusal(
      parseAdminConsentRedirect(
        new URLSearchParams({ error, error_description: 'd'.repeat(600), state: states.create('s') }),
        { states, sessionId: 's' },
      ),
    )
    expect(e.message).toBe(
      `${what}; ask a tenant administrator (Global or Cloud Application Administrator) to try again`,
    )
    expect((e as ConsentError & { description: string }).description).toBe('d'.repeat(500))
  })

  it('refuses a redirect without admin_consent=True, or without a tenant GUID, saying the consent did not complete', async () => {
    const states = createConsentStateManager({ secret })
    const noConsent = await refusal(
      parseAdminConsentRedirect(new URLSearchParams({ tenant, state: states.create('s') }), {
        states,
        sessionId: 's',
      }),
    )
    expect(noConsent.code).toBe('INVALID_CALLBACK')
    expect(noConsent.message).toBe(
      'The redirect does not say admin_consent=True: the consent did not complete',
    )
    const noTenant = await refusal(
      parseAdminConsentRedirect(new URLSearchParams({ admin_consent: 'true', state: states.create('s') }), {
        states,
        sessionId: 's',
      }),
    )
    expect(noTenant.message).toBe('The redirect does not carry a tenant GUID: the consent did not complete')
  })
})
