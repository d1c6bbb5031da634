import type { TenantEvent, TenantRecord } from './types.ts'

/** What a tenant admin sees about the connection: ids, dates, the last check (nothing secret). */
export function publicTenant(t: TenantRecord) {
  return {
    tenantId: t.tenantId,
    orgUrl: t.orgUrl,
    status: t.status,
    onboardedBy: t.onboardedBy,
    onboardedByName: t.onboardedByName,
    consentedAt: t.consentedAt,
    provisionedAt: t.provisionedAt,
    verifiedAt: t.verifiedAt,
    offboardedAt: t.offboardedAt,
    lastCheck: t.lastCheckAt ? { at: t.lastCheckAt, ok: t.lastCheckOk, detail: t.lastCheckDetail } : null,
  }
}

/** One line of the event log as the admin page shows it. */
export function publicEvent(e: TenantEvent) {
  return {
    at: e.at,
    action: e.action,
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    by: { objectId: e.actorObjectId, name: e.actorName },
    detail: e.detail,
  }
}

/** Exact steps for admins who prefer to create the application user themselves. */
export function manualSteps(clientId: string, roleName: string, orgUrl: string): string[] {
  return [
    `Open the Power Platform admin center, pick the environment at ${orgUrl}, then Settings > Users + permissions > Application users.`,
    `Choose "+ New app user", "Add an app", and search for the application id ${clientId}.`,
    'Pick the root business unit of the environment.',
    `Under Security roles, choose "${roleName}" (it comes with the app's solution), then Create.`,
    'Come back here and press "Verify the connection".',
  ]
}

/** Steps to remove the app from the customer's side after offboarding. */
export function offboardingSteps(clientId: string, orgUrl: string): string[] {
  return [
    `In the Power Platform admin center, open the environment at ${orgUrl}, Settings > Users + permissions > Application users: select the app user of ${clientId}, Deactivate it, then Delete it.`,
    `In the Microsoft Entra admin center, Enterprise applications: find the application id ${clientId} and delete it (this removes the admin consent; tokens stop at once).`,
    'Your data stays in your org; this app keeps only the tenant id, org URL, onboarding dates and the event log, marked as offboarded.',
  ]
}
