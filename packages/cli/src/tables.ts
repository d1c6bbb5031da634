import { type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'
import { CliError } from './errors.ts'

/** What export and import need to know of a table. */
export interface TableInfo {
  logicalName: string
  entitySet: string
  primaryId: string
  /** How to read a CSV cell of each column (columns not listed are text). */
  columnKinds: Map<string, ColumnKind>
}

/** How a CSV cell becomes a JSON value. */
export type ColumnKind = 'number' | 'boolean' | 'text'

// Dataverse AttributeType values (EntityDefinitions/Attributes) and CSDL Edm types that are not text.
const NUMBER_TYPES = new Set([
  'Integer',
  'BigInt',
  'Decimal',
  'Double',
  'Money',
  'Picklist',
  'State',
  'Status',
  'Edm.Int32',
  'Edm.Int64',
  'Edm.Decimal',
  'Edm.Double',
])
const BOOLEAN_TYPES = new Set(['Boolean', 'Edm.Boolean'])

function kindOf(type: string): ColumnKind {
  return NUMBER_TYPES.has(type) ? 'number' : BOOLEAN_TYPES.has(type) ? 'boolean' : 'text'
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
    const res = await client.request<{
      EntitySetName?: string
      PrimaryIdAttribute?: string
      Attributes?: { LogicalName: string; AttributeType: string }[]
    }>({
      method: 'GET',
      path: `EntityDefinitions(LogicalName='${name}')`,
      query:
        '$select=LogicalName,EntitySetName,PrimaryIdAttribute&$expand=Attributes($select=LogicalName,AttributeType)',
      ...(signal ? { signal } : {}),
    })
    if (res.body?.EntitySetName && res.body.PrimaryIdAttribute)
      return {
        logicalName: name,
        entitySet: res.body.EntitySetName,
        primaryId: res.body.PrimaryIdAttribute,
        columnKinds: new Map(
          (res.body.Attributes ?? []).map((a) => [a.LogicalName, kindOf(a.AttributeType)]),
        ),
      }
  } catch (err) {
    if (!isDataverseError(err) || (err.status !== 404 && err.status !== 400)) throw err
  }
  const res = await client.request<string>({
    method: 'GET',
    path: '$metadata',
    headers: { accept: 'application/xml' },
    ...(signal ? { signal } : {}),
  })
  const { parseMetadata } = await import('@dataverse-s2s/codegen')
  const model = parseMetadata(typeof res.body === 'string' ? res.body : '')
  const entity = model.entities.find((e) => e.logicalName === name)
  if (!entity?.entitySet || entity.key.length !== 1)
    throw new CliError('TABLE_NOT_FOUND', `The org has no table with the logical name ${name}.`)
  return {
    logicalName: name,
    entitySet: entity.entitySet,
    primaryId: entity.key[0] as string,
    columnKinds: new Map(entity.properties.map((p) => [p.name, kindOf(p.type)])),
  }
}
