import type { CheckResult } from './report.ts'

/**
 * Step 5: the security role onboarding gives the application user in each customer org (`DATAVERSE_ROLE`). Onboarding
 * fails with `ROLE_MISSING` in an org that has no role of exactly this name.
 */
export function checkRole(rawRole: string | undefined, roleName: string): CheckResult {
  const step = 'security role'
  if (rawRole !== undefined && rawRole !== '' && rawRole.trim() === '') {
    return {
      step,
      status: 'fail',
      detail: 'DATAVERSE_ROLE is blank',
      fix: 'set DATAVERSE_ROLE to the name of the security role your solution installs in customer orgs, or remove it for "Dataverse S2S Connector"',
    }
  }
  if (roleName.trim() !== roleName) {
    return {
      step,
      status: 'fail',
      detail: `DATAVERSE_ROLE "${roleName}" starts or ends with spaces, and role names are compared exactly`,
      fix: `set DATAVERSE_ROLE=${roleName.trim()}`,
    }
  }
  return {
    step,
    status: 'ok',
    detail: `"${roleName}"${rawRole ? '' : ' (the default)'}: every customer org needs a security role of exactly this name (ship it in your solution); in an org without it, onboarding stops with ROLE_MISSING and tells the admin to import your solution first`,
  }
}
