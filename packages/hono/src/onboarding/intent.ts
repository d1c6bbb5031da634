import type { TenantRecord } from './types.ts'

/**
 * What a consent is for: `connect` a tenant the app does not know (or consent again for its current org),
 * `reconnect` an offboarded tenant, or `change_org` to move a connected tenant to another org of the same tenant.
 * The last two overwrite what the registry holds, so they are explicit and confirmed.
 */
export type OnboardingIntent = 'connect' | 'reconnect' | 'change_org'

export const INTENTS: readonly OnboardingIntent[] = ['connect', 'reconnect', 'change_org']

/** Why an intent does not fit the tenant as the registry holds it: a 409 code and the admin's next step. */
export function intentProblem(
  existing: TenantRecord | undefined,
  orgUrl: string,
  intent: OnboardingIntent,
  confirmed: boolean,
): { code: string; message: string } | undefined {
  if (intent === 'connect') {
    if (existing?.status === 'offboarded') {
      return {
        code: 'tenant_offboarded',
        message:
          'Your organization was offboarded: to connect it again, use "Reconnect" on the connection page and confirm.',
      }
    }
    if (existing && existing.orgUrl !== orgUrl) {
      return {
        code: 'org_url_differs',
        message: `Your organization is connected to ${existing.orgUrl}: to move it to ${orgUrl}, use "Change the org" on the connection page and confirm.`,
      }
    }
    return undefined
  }
  if (intent === 'reconnect' && existing?.status !== 'offboarded') {
    return { code: 'not_offboarded', message: 'Only an offboarded organization can be reconnected.' }
  }
  if (intent === 'change_org') {
    if (!existing || existing.status === 'offboarded') {
      return {
        code: 'not_connected',
        message: 'Your organization is not connected: connect it first.',
      }
    }
    if (existing.orgUrl === orgUrl) {
      return { code: 'same_org_url', message: `Your organization is already connected to ${orgUrl}.` }
    }
  }
  if (!confirmed) {
    return {
      code: 'confirmation_required',
      message:
        intent === 'reconnect'
          ? 'Reconnecting gives your people access again once the set-up is verified: confirm to continue.'
          : 'Changing the org points your people to another org’s data once the set-up is verified: confirm to continue.',
    }
  }
  return undefined
}
