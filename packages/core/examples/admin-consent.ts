import {
  buildAdminConsentUrl,
  type CloudInput,
  ConsentError,
  createConsentStateManager,
  parseAdminConsentRedirect,
} from '@dataverse-s2s/core'

export interface ConsentExampleConfig {
  clientId: string
  redirectUri: string
  /** At least 32 bytes, from configuration. */
  stateSecret: string
  cloud?: CloudInput
}

export function consentExample(config: ConsentExampleConfig) {
  // #region consent
  const states = createConsentStateManager({ secret: config.stateSecret })

  // 1. "Connect your organization": send the customer's admin to Entra ID's admin-consent page.
  function startConsent(sessionId: string, orgUrl: string): string {
    const state = states.create(sessionId, orgUrl) // signed, expiring, bound to this browser session, single use
    return buildAdminConsentUrl({
      clientId: config.clientId,
      redirectUri: config.redirectUri,
      state,
      resource: orgUrl, // v2 scope {orgUrl}/.default
      // #endregion consent
      ...(config.cloud ? { cloud: config.cloud } : {}),
      // #region consent
    })
  }

  // 2. The redirect back: verify the state, then read the tenant (a hint until a token for it succeeds).
  async function finishConsent(sessionId: string, callbackUrl: string) {
    try {
      const { tenantId, data: orgUrl } = await parseAdminConsentRedirect(callbackUrl, { states, sessionId })
      return { ok: true as const, tenantId, orgUrl }
    } catch (error) {
      if (error instanceof ConsentError)
        return { ok: false as const, code: error.code, message: error.message }
      throw error
    }
  }
  // #endregion consent
  return { startConsent, finishConsent }
}
