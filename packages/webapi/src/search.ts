import type { DataverseClient } from './client-types.ts'
import { DataverseError } from './errors.ts'
import { common, jsonHeaders, parseJson, type Scope } from './internal/core.ts'
import type { SendResult } from './internal/pipeline.ts'
import type {
  AutocompleteOptions,
  SearchEntity,
  SearchFacet,
  SearchHit,
  SearchQueryContext,
  SuggestOptions,
} from './search-types.ts'

type SearchMethods = Pick<DataverseClient, 'search' | 'suggest' | 'autocomplete'>
type Operation = 'query' | 'suggest' | 'autocomplete'

// Microsoft Learn, "Search for Dataverse records" and "Dataverse Search query / suggest / autocomplete": POST the
// parameters to [Organization URI]/api/search/v2.0/<operation>; entities, orderby, facets and options travel as JSON
// text; the answer's `response` is JSON text again.

/** Dataverse search: `search`, `suggest` and `autocomplete`. */
export function searchMethods(scope: Scope): SearchMethods {
  const call = async (
    op: Operation,
    term: string,
    body: Record<string, unknown>,
    options: SuggestOptions | undefined,
  ) => {
    const min = op === 'suggest' ? 3 : 1
    if (typeof term !== 'string' || term.length < min || term.length > 100) {
      throw new DataverseError('INVALID_ARGUMENT', `The ${op} term must be ${min} to 100 characters long.`)
    }
    const path = `${scope.core.config.resource}/api/search/v2.0/${op}`
    const result = await scope.core.send({
      method: 'POST',
      path,
      headers: scope.headersFor(options, jsonHeaders),
      body: JSON.stringify({ search: term, ...body }),
      // search reads only: sending it again is safe
      idempotent: true,
      ...common(options),
    })
    return parseResponse(result, op)
  }
  return {
    async search(term, options) {
      const r = await call(
        'query',
        term,
        {
          ...shared(options),
          ...(options?.facets ? { facets: JSON.stringify(options.facets) } : {}),
          ...(options?.orderBy ? { orderby: JSON.stringify(options.orderBy) } : {}),
          ...(options?.count !== undefined ? { count: options.count } : {}),
          ...(options?.top !== undefined ? { top: whole(options.top, 'top', 0) } : {}),
          ...(options?.skip !== undefined
            ? { skip: whole(options.skip, 'skip', 0, Number.MAX_SAFE_INTEGER) }
            : {}),
          ...searchOptions({
            searchmode: options?.searchMode,
            querytype: options?.queryType,
            besteffortsearchenabled: options?.bestEffortSearch,
            grouprankingenabled: options?.groupRanking,
          }),
        },
        options,
      )
      const value = Array.isArray(r.Value) ? (r.Value as Record<string, unknown>[]) : []
      return {
        hits: value.map(
          (v): SearchHit<never> => ({
            id: v.Id as string,
            entityName: v.EntityName as string,
            objectTypeCode: v.ObjectTypeCode as number,
            attributes: (v.Attributes ?? {}) as never,
            highlights: (v.Highlights ?? {}) as Record<string, string[]>,
            score: v.Score as number,
          }),
        ),
        count: typeof r.Count === 'number' && r.Count >= 0 ? r.Count : undefined,
        facets: facetsOf(r.Facets),
        queryContext: contextOf(r.QueryContext),
      }
    },
    async suggest(term, options) {
      const r = await call(
        'suggest',
        term,
        {
          ...shared(options),
          ...(options?.fuzzy !== undefined ? { fuzzy: options.fuzzy } : {}),
          ...(options?.orderBy ? { orderby: JSON.stringify(options.orderBy) } : {}),
          ...(options?.top !== undefined ? { top: whole(options.top, 'top', 1) } : {}),
          ...searchOptions({ advancedsuggestenabled: options?.advancedSuggest }),
        },
        options,
      )
      const value = Array.isArray(r.Value) ? (r.Value as Record<string, unknown>[]) : []
      return {
        suggestions: value.map((v) => ({ text: v.Text as string, document: (v.Document ?? {}) as never })),
        queryContext: contextOf(r.QueryContext),
      }
    },
    async autocomplete(term, options) {
      const r = await call(
        'autocomplete',
        term,
        { ...shared(options), ...(options?.fuzzy !== undefined ? { fuzzy: options.fuzzy } : {}) },
        options,
      )
      return { value: typeof r.Value === 'string' ? r.Value : null, queryContext: contextOf(r.QueryContext) }
    },
  } as SearchMethods
}

function shared(options: AutocompleteOptions | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (options?.entities) {
    if (options.entities.length === 0) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        'entities must name at least one table; leave it out to search all.',
      )
    }
    out.entities = JSON.stringify(options.entities.map(entityOf))
  }
  if (options?.filter !== undefined) out.filter = options.filter
  return out
}

function entityOf(e: string | SearchEntity): Record<string, unknown> {
  const entity = typeof e === 'string' ? { name: e } : e
  if (typeof entity.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(entity.name)) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `entities: '${String(entity.name)}' is not a table logical name.`,
    )
  }
  const out: Record<string, unknown> = { name: entity.name }
  if (entity.selectColumns) out.selectColumns = [...entity.selectColumns]
  if (entity.searchColumns) out.searchColumns = [...entity.searchColumns]
  if (entity.filter !== undefined) out.filter = entity.filter
  return out
}

/** The `options` parameter: a JSON text of string values (Learn writes `{'searchmode': 'all', …}`). */
function searchOptions(values: Record<string, string | boolean | undefined>): { options?: string } {
  const set = Object.entries(values).filter(([, v]) => v !== undefined)
  return set.length
    ? { options: JSON.stringify(Object.fromEntries(set.map(([k, v]) => [k, String(v)]))) }
    : {}
}

function whole(n: number, name: string, min: number, max = 100): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new DataverseError('INVALID_ARGUMENT', `${name} must be a whole number from ${min} to ${max}.`)
  }
  return n
}

function parseResponse(result: SendResult, op: Operation): Record<string, unknown> {
  const path = `/api/search/v2.0/${op}`
  const outer = parseJson<{ response?: unknown }>(result, 'POST', path)
  let inner: unknown
  try {
    inner = typeof outer.response === 'string' ? JSON.parse(outer.response) : undefined
  } catch {
    inner = undefined
  }
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
    throw new DataverseError(
      'INVALID_RESPONSE',
      `POST ${path}: the answer has no 'response' JSON text; is this a Dataverse search endpoint?`,
      { status: result.status, method: 'POST', path },
    )
  }
  const body = inner as Record<string, unknown>
  const error = body.Error as Record<string, unknown> | null | undefined
  if (error) {
    const code = String(error.code ?? error.Code ?? '')
    const message = String(error.message ?? error.Message ?? 'no message')
    throw new DataverseError(
      'BAD_REQUEST',
      `Dataverse search (${op}) reported an error ${code}: ${message}`,
      {
        status: result.status,
        serviceCode: code || undefined,
        method: 'POST',
        path,
        body: error,
      },
    )
  }
  return body
}

function facetsOf(value: unknown): Record<string, SearchFacet[]> {
  if (!value || typeof value !== 'object') return {}
  const out: Record<string, SearchFacet[]> = {}
  for (const [name, list] of Object.entries(value as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue
    out[name] = list.map((f: Record<string, unknown>) => ({
      count: (f.count ?? f.Count) as number | undefined,
      value: f.value ?? f.Value,
      type: String(f.type ?? f.Type ?? 'Value'),
      from: f.from ?? f.From ?? null,
      to: f.to ?? f.To ?? null,
      optionalValue: f.optionalvalue ?? f.OptionalValue ?? null,
    }))
  }
  return out
}

function contextOf(value: unknown): SearchQueryContext | null {
  if (!value || typeof value !== 'object') return null
  const v = value as Record<string, unknown>
  const out: SearchQueryContext = {}
  const original = v.originalquery ?? v.OriginalQuery
  const altered = v.alteredquery ?? v.AlteredQuery
  const reason = v.reason ?? v.Reason
  const spell = v.spellsuggestions ?? v.SpellSuggestions
  if (typeof original === 'string') out.originalQuery = original
  if (typeof altered === 'string') out.alteredQuery = altered
  if (Array.isArray(reason)) out.reason = reason.map(String)
  if (Array.isArray(spell)) out.spellSuggestions = spell.map(String)
  return out
}
