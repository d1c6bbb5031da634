import { type DataverseClient, ensureApplicationUser, verifyAccess } from '@dataverse-s2s/webapi'

/** `adminClient` acts as an admin of the customer's org; `appClient` is the app's own (app-only) client. */
export async function onboard(adminClient: DataverseClient, appClient: DataverseClient, clientId: string) {
  // #region onboarding
  // After admin consent: create the application user in the root business unit with our custom role.
  // Idempotent: running it again changes nothing.
  const user = await ensureApplicationUser(adminClient, {
    applicationId: clientId,
    roles: ['Dataverse S2S Connector'],
  })

  // Then, as the app itself: WhoAmI plus a precise list of what is still missing.
  const report = await verifyAccess(appClient, { readableEntitySets: ['accounts', 'contacts'] })
  if (!report.ok) throw new Error(report.problems.map((p) => p.message).join('\n'))
  // #endregion onboarding
  return { user, report }
}

export async function impersonate(appClient: DataverseClient, userObjectId: string) {
  // #region impersonation
  // Act on behalf of the signed-in user (their Entra object id); Dataverse applies their privileges.
  const asUser = appClient.as({ callerObjectId: userObjectId })
  const id = await asUser.create('accounts', { name: 'Created on behalf of a user' })
  // #endregion impersonation
  return id
}
