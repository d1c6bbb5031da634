/**
 * A Dataverse-shaped failure: the HTTP status and the OData error body `{"error":{"code","message"}}`.
 * Codes are Dataverse's hex codes (see the notes beside {@link Fault}).
 */
export class DataverseFault extends Error {
  override name = 'DataverseFault'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

// Codes relied on, from Microsoft's Dataverse docs ("Troubleshoot Dataverse Web API client errors",
// "Web service error codes", compose-http-requests-handle-errors, api-limits, DOMAIN.md §3.9):
//   0x8006088a 404 Resource not found for the segment 'X'.
//   0x0        400 Could not find a property named 'X' on type 'Microsoft.Dynamics.CRM.account'.
//   ''         404 No HTTP resource was found that matches the request URI ... (wrong method on a function)
//   0x80060888 400 OData syntax errors in the URL (query options, keys)
//   0x80048d19 400 Error identified in Payload provided by the user (malformed JSON body)
//   0x80040217 404 <entity> With Id = <guid> Does Not Exist (ObjectDoesNotExist)
//   0x80040237 412 A record with matching key values already exists. (DuplicateRecord)
//   0x80060882 412 The version of the existing record doesn't match the RowVersion property provided.
//   0x80040220 403 PrivilegeDenied, 0x80072560 403 The user is not a member of the organization.
//   0x80072491 400 ChangeTrackingNotEnabledForEntity, 0x80044352 400 ExpiredVersionStamp (change tracking)
//   0x80044331 400 validation error, 0x80040203 400 invalid argument
//   0x80072322 / 0x80072321 / 0x80072326 429 service protection (requests / execution time / concurrency)
export const Fault = {
  segmentNotFound: (segment: string) =>
    new DataverseFault(404, '0x8006088a', `Resource not found for the segment '${segment}'.`),
  noResource: (url: string) =>
    new DataverseFault(404, '', `No HTTP resource was found that matches the request URI '${url}'.`),
  unknownProperty: (property: string, logicalName: string) =>
    new DataverseFault(
      400,
      '0x0',
      `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${logicalName}'.`,
    ),
  invalidProperty: (property: string, logicalName: string) =>
    new DataverseFault(
      400,
      '0x80048d19',
      `Error identified in Payload provided by the user for Entity :'${logicalName}'. The property '${property}' does not exist on type 'Microsoft.Dynamics.CRM.${logicalName}'. Make sure to only use property names that are defined by the type.`,
    ),
  syntax: (message: string) => new DataverseFault(400, '0x80060888', message),
  // change tracking (changes.ts): ChangeTrackingNotEnabledForEntity and ExpiredVersionStamp
  changeTrackingDisabled: (logicalName: string) =>
    new DataverseFault(
      400,
      '0x80072491',
      `Entity ${logicalName} isn't enabled for change tracking. Enable Track changes on the table, or read it without Prefer: odata.track-changes.`,
    ),
  expiredVersionStamp: () =>
    new DataverseFault(
      400,
      '0x80044352',
      'Version stamp associated with the client has expired. Please perform a full sync: request the table again with Prefer: odata.track-changes and no $deltatoken.',
    ),
  badPayload: (logicalName: string, detail: string) =>
    new DataverseFault(
      400,
      '0x80048d19',
      `Error identified in Payload provided by the user for Entity :'${logicalName}'. ${detail}`,
    ),
  notFound: (logicalName: string, id: string) =>
    new DataverseFault(404, '0x80040217', `${logicalName} With Id = ${id} Does Not Exist`),
  notFoundByKey: (logicalName: string) =>
    new DataverseFault(
      404,
      '0x80040217',
      `A record with the specified key values does not exist in ${logicalName} entity`,
    ),
  duplicate: () => new DataverseFault(412, '0x80040237', 'A record with matching key values already exists.'),
  duplicateKey: () =>
    new DataverseFault(
      412,
      '0x80040237',
      'Cannot insert duplicate key. A record with matching key values already exists.',
    ),
  versionMismatch: () =>
    new DataverseFault(
      412,
      '0x80060882',
      "The version of the existing record doesn't match the RowVersion property provided.",
    ),
  // Learn, "Use Web API actions" § Bound actions: a bound function or action called without its namespace
  unqualifiedBound: (name: string) =>
    new DataverseFault(
      400,
      '0x80060888',
      `Request message has unresolved parameters. Call the bound operation by its full name, Microsoft.Dynamics.CRM.${name}.`,
    ),
  invalidArgument: (message: string) => new DataverseFault(400, '0x80040203', message),
  validation: (message: string) => new DataverseFault(400, '0x80044331', message),
  methodNotAllowed: (message: string) => new DataverseFault(405, '0x80060888', message),
  notMember: () => new DataverseFault(403, '0x80072560', 'The user is not a member of the organization.'),
  privilegeDenied: (userId: string, privilege: string, logicalName?: string) =>
    new DataverseFault(
      403,
      '0x80040220',
      `Principal user (Id=${userId}, type=8) is missing ${privilege} privilege${logicalName ? ` on entity '${logicalName}'` : ''}. Consult an administrator or grant the role that holds it.`,
    ),
  /** The privilege is held, but its access level (Basic, Local, Deep) does not reach this row. */
  accessDenied: (userId: string, logicalName: string, id: string, ownerId: unknown) =>
    new DataverseFault(
      403,
      '0x80040220',
      `SecLib::AccessCheckEx failed. ObjectID: ${id}, OwnerId: ${String(ownerId)}, OwnerIdType: 8 and CallingUser: ${userId}. Entity: '${logicalName}', AccessRights: ReadAccess. The caller's security role gives Read on this table at a level that does not reach this row.`,
    ),
} as const
