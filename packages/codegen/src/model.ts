import { CodegenError } from './errors.ts'
import { scanXml } from './xml.ts'

// The CSDL Dataverse serves at /api/data/v9.2/$metadata (Microsoft Learn, "Web API entity types", "Web API
// properties", "Web API navigation properties"): one Schema (Namespace "Microsoft.Dynamics.CRM", Alias "mscrm");
// EntityType elements (BaseType "mscrm.crmbaseentity"; activities inherit from "mscrm.activitypointer") with Key,
// Property and NavigationProperty; a lookup column appears as the property `_<name>_value` (Edm.Guid), named by the
// ReferentialConstraint of each single-valued navigation property that uses it (several for multi-table lookups such
// as `_customerid_value`); EntitySet elements of the EntityContainer give each table's entity set name.

/** An OData CSDL document reduced to what code generation needs. */
export interface MetadataModel {
  /** The namespace of the entity types (`Microsoft.Dynamics.CRM`). */
  namespace: string
  /** Every entity type, sorted by logical name, with inherited members merged in. */
  entities: EntityModel[]
}

/** One table (entity type). */
export interface EntityModel {
  /** The entity type's name: the table's logical name (`account`, `new_project`). */
  logicalName: string
  /** Its entity set in the EntityContainer (`accounts`); absent for abstract types and types without one. */
  entitySet?: string
  abstract: boolean
  /** Logical name of the base type (`crmbaseentity`), if any. */
  baseType?: string
  /** Names of the key properties (`accountid`). */
  key: string[]
  /** Structural properties, inherited ones included, sorted by name. */
  properties: PropertyModel[]
  /** Navigation properties, inherited ones included, sorted by name. */
  navigations: NavigationModel[]
}

/** A structural property (a column). */
export interface PropertyModel {
  name: string
  /** The CSDL type as written with aliases resolved: `Edm.String`, `Collection(Edm.Guid)`, `Microsoft.Dynamics.CRM.x`. */
  type: string
  /** `Nullable` (CSDL default: true). */
  nullable: boolean
  /** For a lookup property `_x_value`: the column `x` and the tables it can point to (logical names, sorted). */
  lookup?: { column: string; targets: string[] }
}

/** A navigation property, for `$expand`. */
export interface NavigationModel {
  name: string
  /** Logical name of the related table. */
  target: string
  /** Collection-valued (one-to-many, many-to-many) or single-valued (a lookup). */
  collection: boolean
  nullable: boolean
  /** The navigation property on the other side. */
  partner?: string
  /** For a single-valued one: the lookup property holding the related record's id (`_parentaccountid_value`). */
  lookupProperty?: string
}

interface RawEntity {
  name: string
  baseType?: string
  abstract: boolean
  key: string[]
  properties: PropertyModel[]
  navigations: NavigationModel[]
}

const LOOKUP = /^_(.+)_value$/

/**
 * Reads an OData CSDL `$metadata` document (XML) in one linear pass.
 * @param csdlXml - the document, e.g. the body of `GET {org}/api/data/v9.2/$metadata`
 * @returns every entity type with its entity set, key, properties (lookups marked) and navigation properties
 * @throws {CodegenError} `INVALID_XML` for a document that is not well-formed, `INVALID_CSDL` for one that is not CSDL
 * @example
 * import { readFile } from 'node:fs/promises'
 * const model = parseMetadata(await readFile('metadata.xml', 'utf8'))
 */
export function parseMetadata(csdlXml: string): MetadataModel {
  if (typeof csdlXml !== 'string') {
    throw new CodegenError('INVALID_OPTIONS', 'parseMetadata takes the $metadata document as a string')
  }
  const raw = new Map<string, RawEntity>()
  const sets = new Map<string, string>()
  const aliases = new Map<string, string>()
  const path: string[] = []
  let namespace: string | undefined
  let schemaNamespace = ''
  let entity: RawEntity | undefined
  let navigation: NavigationModel | undefined
  let sawEdmx = false

  const need = (element: string, attributes: Record<string, string>, name: string): string => {
    const value = attributes[name]
    if (value === undefined || value === '') {
      const where = entity ? ` in entity type ${entity.name}` : ''
      throw new CodegenError('INVALID_CSDL', `A <${element}>${where} has no ${name} attribute`)
    }
    return value
  }
  const qualified = (name: string) => (name.includes('.') ? name : `${schemaNamespace}.${name}`)

  scanXml(csdlXml, {
    open(name, a) {
      const parent = path[path.length - 1]
      path.push(name)
      if (path.length === 1) {
        if (name !== 'Edmx') {
          throw new CodegenError(
            'INVALID_CSDL',
            `The document's root is <${name}>, not <edmx:Edmx>: pass the body of {org}/api/data/v9.2/$metadata`,
          )
        }
        sawEdmx = true
        return
      }
      switch (name) {
        case 'Schema':
          schemaNamespace = need(name, a, 'Namespace')
          namespace ??= schemaNamespace
          if (a['Alias']) aliases.set(a['Alias'], schemaNamespace)
          return
        case 'EntityType':
          if (parent !== 'Schema') return
          entity = {
            name: qualified(need(name, a, 'Name')),
            abstract: a['Abstract'] === 'true',
            key: [],
            properties: [],
            navigations: [],
            ...(a['BaseType'] ? { baseType: a['BaseType'] } : {}),
          }
          return
        case 'PropertyRef':
          if (entity && parent === 'Key') entity.key.push(need(name, a, 'Name'))
          return
        case 'Property':
          if (entity && parent === 'EntityType')
            entity.properties.push({
              name: need(name, a, 'Name'),
              type: need(name, a, 'Type'),
              nullable: a['Nullable'] !== 'false',
            })
          return
        case 'NavigationProperty': {
          if (!entity || parent !== 'EntityType') return
          const type = need(name, a, 'Type')
          const collection = /^Collection\((.+)\)$/.exec(type)
          navigation = {
            name: need(name, a, 'Name'),
            target: collection ? (collection[1] as string) : type,
            collection: collection !== null,
            nullable: a['Nullable'] !== 'false',
            ...(a['Partner'] ? { partner: a['Partner'] } : {}),
          }
          entity.navigations.push(navigation)
          return
        }
        case 'ReferentialConstraint':
          if (navigation && parent === 'NavigationProperty' && !navigation.collection)
            navigation.lookupProperty = need(name, a, 'Property')
          return
        case 'EntitySet':
          if (parent === 'EntityContainer') sets.set(need(name, a, 'EntityType'), need(name, a, 'Name'))
          return
      }
    },
    close(name) {
      path.pop()
      if (name === 'EntityType' && entity && path[path.length - 1] === 'Schema') {
        raw.set(entity.name, entity)
        entity = undefined
      } else if (name === 'NavigationProperty') {
        navigation = undefined
      }
    },
  })
  if (!sawEdmx || namespace === undefined) {
    throw new CodegenError(
      'INVALID_CSDL',
      'The document has no <Schema>: it is not a CSDL $metadata document',
    )
  }

  // Type names may use the alias (mscrm.account) or the namespace (Microsoft.Dynamics.CRM.account).
  const resolve = (type: string): string => {
    const collection = /^Collection\((.+)\)$/.exec(type)
    if (collection) return `Collection(${resolve(collection[1] as string)})`
    const dot = type.lastIndexOf('.')
    const ns = aliases.get(type.slice(0, dot))
    return ns === undefined ? type : `${ns}.${type.slice(dot + 1)}`
  }
  const shortName = (qualifiedName: string): string => qualifiedName.slice(qualifiedName.lastIndexOf('.') + 1)
  const entitySets = new Map([...sets].map(([type, set]) => [resolve(type), set]))

  const merged = new Map<string, EntityModel>()
  const build = (qname: string, seen: Set<string>): EntityModel => {
    const done = merged.get(qname)
    if (done) return done
    const e = raw.get(qname) as RawEntity
    if (seen.has(qname)) throw new CodegenError('INVALID_CSDL', `Entity type ${qname} inherits from itself`)
    seen.add(qname)
    const base = e.baseType === undefined ? undefined : resolve(e.baseType)
    if (base !== undefined && !raw.has(base)) {
      throw new CodegenError('INVALID_CSDL', `Entity type ${qname} has an unknown base type ${e.baseType}`)
    }
    const parent = base === undefined ? undefined : build(base, seen)
    const properties = new Map((parent?.properties ?? []).map((p) => [p.name, p]))
    for (const p of e.properties) properties.set(p.name, { ...p, type: resolve(p.type) })
    const navigations = new Map((parent?.navigations ?? []).map((n) => [n.name, { ...n }]))
    for (const n of e.navigations) navigations.set(n.name, { ...n, target: shortName(resolve(n.target)) })
    const set = entitySets.get(qname)
    const model: EntityModel = {
      logicalName: shortName(qname),
      abstract: e.abstract,
      key: e.key.length > 0 ? e.key : (parent?.key ?? []),
      properties: lookups([...properties.values()], [...navigations.values()]).sort(byName),
      navigations: [...navigations.values()].sort(byName),
      ...(set === undefined ? {} : { entitySet: set }),
      ...(base === undefined ? {} : { baseType: shortName(base) }),
    }
    merged.set(qname, model)
    return model
  }
  for (const qname of raw.keys()) build(qname, new Set())
  const entities = [...merged.values()].sort((a, b) => compare(a.logicalName, b.logicalName))
  return { namespace, entities }
}

/** Marks `_x_value` properties as lookups and links single-valued navigation properties to them. */
function lookups(properties: PropertyModel[], navigations: NavigationModel[]): PropertyModel[] {
  const names = new Set(properties.map((p) => p.name))
  for (const n of navigations) {
    // Without a ReferentialConstraint (older or hand-written CSDL), `x` uses `_x_value`, and a multi-table lookup's
    // `x_target` (Dataverse's naming, e.g. parentcustomerid_account) uses it too.
    if (n.collection || n.lookupProperty !== undefined) continue
    const suffix = `_${n.target}`
    const candidates = [n.name, n.name.endsWith(suffix) ? n.name.slice(0, -suffix.length) : undefined]
    const found = candidates.find((c) => c !== undefined && names.has(`_${c}_value`))
    if (found !== undefined) n.lookupProperty = `_${found}_value`
  }
  return properties.map((p) => {
    const m = LOOKUP.exec(p.name)
    if (!m || p.type !== 'Edm.Guid') return p
    const targets = [
      ...new Set(navigations.filter((n) => n.lookupProperty === p.name).map((n) => n.target)),
    ].sort(compare)
    return { ...p, lookup: { column: m[1] as string, targets } }
  })
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function byName(a: { name: string }, b: { name: string }): number {
  return compare(a.name, b.name)
}
