import { DataverseError } from './errors.ts'
import { formatLiteral, isODataExpression, type ODataExpression, type ODataValue } from './filter.ts'
import { checkName, encodeQueryValue } from './internal/paths.ts'

/** One navigation property to expand, with its own nested options. */
export interface ExpandOption {
  /** Navigation property name, e.g. `primarycontactid` or `contact_customer_accounts`. */
  property: string
  select?: readonly string[]
  filter?: ODataExpression | string
  orderBy?: string | readonly string[]
  top?: number
  expand?: readonly ExpandOption[]
}

/** OData query options for `query()`, `queryAll()` and `retrieve()`. */
export interface QueryOptions {
  /** Columns to return (`$select`). Always select what you need: it is the cheapest optimisation. */
  select?: readonly string[]
  /** `$filter`: build it with the {@link odata} tagged template so values are escaped. A plain string is sent as is. */
  filter?: ODataExpression | string
  /** `$orderby`, e.g. `['name', 'createdon desc']`. */
  orderBy?: string | readonly string[]
  /** `$top`: total rows (not a page size; see `maxPageSize`). */
  top?: number
  expand?: readonly ExpandOption[] | string
  /** `$count=true`: the response carries `count` (Dataverse caps it at 5,000). */
  count?: boolean
  /** `$apply` aggregation text, e.g. `groupby((statecode),aggregate($count as n))`. */
  apply?: string
  /**
   * Parameter aliases the filter refers to (`@p1`), each sent as its own query parameter with the value as an OData
   * literal: `{ p1: 'modifiedon', p2: 12 }` → `&@p1='modifiedon'&@p2=12`. Microsoft Learn (Use Web API functions)
   * passes query function parameters this way: `Microsoft.Dynamics.CRM.LastXHours(PropertyName=@p1,PropertyValue=@p2)`.
   * A name is a letter or `_` then letters, digits or `_`, with or without the leading `@`.
   */
  aliases?: Readonly<Record<string, ODataValue>>
}

const ALIAS = /^@?[A-Za-z_][A-Za-z0-9_]*$/

function aliasParts(aliases: Readonly<Record<string, ODataValue>>): string[] {
  const parts: string[] = []
  for (const [name, value] of Object.entries(aliases)) {
    if (!ALIAS.test(name)) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        `Parameter alias "${name.slice(0, 40)}" is not a valid name: use a letter or _ then letters, digits or _ (p1, @p1).`,
      )
    }
    parts.push(
      `@${name.replace(/^@/, '')}=${encodeQueryValue(formatLiteral(value), `Parameter alias ${name}`)}`,
    )
  }
  return parts
}

/** Which OData annotations (formatted values, lookup names, …) a read asks Dataverse to add to each row. */
export interface AnnotationOptions {
  /** Ask for formatted values (`OData.Community.Display.V1.FormattedValue`). Default false. */
  formattedValues?: boolean
  /** Ask for annotations: `true`/`'*'` for all, or a list of names. Wins over `formattedValues`. */
  annotations?: boolean | '*' | readonly string[]
}

function list(value: string | readonly string[], what: string): string {
  const items = typeof value === 'string' ? [value] : value
  for (const item of items) {
    if (typeof item !== 'string' || item.trim() === '' || /[&#;?]/.test(item)) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        `${what} contains an invalid entry; use plain column names.`,
      )
    }
  }
  return items.join(',')
}

function checkTop(top: number): string {
  if (!Number.isInteger(top) || top < 0) {
    throw new DataverseError('INVALID_ARGUMENT', `top must be a non-negative integer, got ${top}.`)
  }
  return String(top)
}

function filterText(filter: ODataExpression | string): string {
  if (isODataExpression(filter)) return filter.toString()
  if (typeof filter === 'string') return filter
  throw new DataverseError('INVALID_ARGUMENT', 'filter must be an odata`...` expression or a string.')
}

function expandText(expand: readonly ExpandOption[] | string): string {
  if (typeof expand === 'string') return expand
  return expand
    .map((e) => {
      const inner: string[] = []
      if (e.select) inner.push(`$select=${list(e.select, 'expand select')}`)
      if (e.filter !== undefined) inner.push(`$filter=${filterText(e.filter)}`)
      if (e.orderBy !== undefined) inner.push(`$orderby=${list(e.orderBy, 'expand orderBy')}`)
      if (e.top !== undefined) inner.push(`$top=${checkTop(e.top)}`)
      if (e.expand) inner.push(`$expand=${expandText(e.expand)}`)
      const name = checkName(e.property, 'Expanded property')
      return inner.length ? `${name}(${inner.join(';')})` : name
    })
    .join(',')
}

/** Builds `?$select=...&$filter=...` (every value percent-encoded), or `''`. */
export function buildQueryString(options: QueryOptions, extra: [string, string][] = []): string {
  const parts: string[] = []
  const add = (name: string, value: string) => parts.push(`${name}=${encodeQueryValue(value, name)}`)
  if (options.select?.length) add('$select', list(options.select, 'select'))
  if (options.filter !== undefined) add('$filter', filterText(options.filter))
  if (options.orderBy !== undefined) add('$orderby', list(options.orderBy, 'orderBy'))
  if (options.top !== undefined) add('$top', checkTop(options.top))
  if (options.expand !== undefined) add('$expand', expandText(options.expand))
  if (options.count) parts.push('$count=true')
  if (options.apply !== undefined) add('$apply', options.apply)
  if (options.aliases) parts.push(...aliasParts(options.aliases))
  for (const [name, value] of extra) add(name, value)
  return parts.length ? `?${parts.join('&')}` : ''
}

/** What FetchXML paging reads from each page (Microsoft Learn: Page results using FetchXml). */
const FETCHXML_PAGING_ANNOTATIONS = [
  'Microsoft.Dynamics.CRM.fetchxmlpagingcookie',
  'Microsoft.Dynamics.CRM.morerecords',
] as const

/**
 * What a FetchXML page needs: the paging annotations, and with `returntotalrecordcount="true"` on `<fetch>` the two
 * count annotations, which Dataverse returns only when the `Prefer` header names them (Microsoft Learn: Count rows
 * using FetchXml, Web API).
 */
export function fetchXmlAnnotations(counted: boolean): readonly string[] {
  return counted
    ? [
        ...FETCHXML_PAGING_ANNOTATIONS,
        'Microsoft.Dynamics.CRM.totalrecordcount',
        'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded',
      ]
    : FETCHXML_PAGING_ANNOTATIONS
}

/**
 * The `odata.include-annotations` preference for these options, plus `required` annotations the call cannot work
 * without (FetchXML paging needs the paging cookie and `morerecords`: without them Dataverse says nothing about
 * further pages, and paging would stop silently after the first).
 */
export function annotationPreference(
  options: AnnotationOptions,
  required: readonly string[] = [],
): string | undefined {
  const a = options.annotations
  if (a === true || a === '*') return 'odata.include-annotations="*"'
  const names: string[] = []
  if (Array.isArray(a) && a.length) names.push(...list(a, 'annotations').split(','))
  else if (options.formattedValues) names.push('OData.Community.Display.V1.FormattedValue')
  const covered = (name: string) =>
    names.some((n) => n === name || (n.endsWith('*') && name.startsWith(n.slice(0, -1))))
  for (const name of required) if (!covered(name)) names.push(name)
  return names.length ? `odata.include-annotations="${names.join(',')}"` : undefined
}
