import { parseMetadata } from '@dataverse-s2s/codegen'
import { type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'
import { CliError } from './errors.ts'

/** What export and import need to know of a table. */
export interface TableInfo {
  logicalName: string
  entitySet: string
  primaryId: string
}

/**
 * Finds a table's entity set and primary id column: from `EntityDefinitions(LogicalName='x')` (one small request on
 * Dataverse), else from the org's CSDL `$metadata` (the emulator serves no EntityDefinitions).
 */
export async function resolveTable(
  client: DataverseClient,
  logicalName: string,
  signal?: AbortSignal,
): Promise<TableInfo> {
  if (!/^[a-z][a-z0-9_]*$/i.test(logicalName))
    throw new CliError('TABLE_NOT_FOUND', `${JSON.stringify(logicalName)} is not a table logical name.`)
  const name = logicalName.toLowerCase()
  try {
    const res = await client.request<{ EntitySetName?: string; PrimaryIdAttribute?: string }>({
      method: 'GET',
      path: `EntityDefinitions(LogicalName='${name}')`,
      query: '$select=LogicalName,EntitySetName,PrimaryIdAttribute',
      ...(signal ? { signal } : {}),
    })
    if (res.body?.EntitySetName && res.body.PrimaryIdAttribute)
      return { logicalName: name, entitySet: res.body.EntitySetName, primaryId: res.body.PrimaryIdAttribute }
  } catch (err) {
    if (!isDataverseError(err) || (err.status !== 404 && err.status !== 400)) throw err
  }
  const res = await client.request<string>({
    method: 'GET',
    path: '$metadata',
    headers: { accept: 'application/xml' },
    ...(signal ? { signal } : {}),
  })
  const model = parseMetadata(typeof res.body === 'string' ? res.body : '')
  const entity = model.entities.find((e) => e.logicalName === name)
  if (!entity?.entitySet || entity.key.length !== 1)
    throw new CliError('TABLE_NOT_FOUND', `The org has no table with the logical name ${name}.`)
  return { logicalName: name, entitySet: entity.entitySet, primaryId: entity.key[0] as string }
}
