import type { Row } from './row.ts'
import type { CallOptions } from './types.ts'

/** A table to search (Microsoft Learn: Dataverse Search query, SearchEntity type). A string names the table only. */
export interface SearchEntity {
  /** Table logical name, e.g. `account`. */
  name: string
  /** Columns returned in `attributes`. Default: the table's primary name. */
  selectColumns?: readonly string[] | undefined
  /** Columns searched. Default: the columns the table's search configuration (Quick Find view) names. */
  searchColumns?: readonly string[] | undefined
  /** `$filter`-style conditions on this table, e.g. `statecode eq 0`. */
  filter?: string | undefined
}

/** Options of `client.search()`; each maps to a documented `query` parameter. */
export interface SearchOptions extends CallOptions {
  /** Tables to search (`entities`). Default: every table enabled for search. */
  entities?: readonly (string | SearchEntity)[] | undefined
  /** Conditions on columns every searched table has (`filter`), e.g. `createdon gt 2022-08-15`. */
  filter?: string | undefined
  /** Facet definitions (`facets`), e.g. `['entityname,count:100']`. */
  facets?: readonly string[] | undefined
  /** Order clauses (`orderby`), e.g. `['@search.score desc', 'modifiedon desc']`. Default: by relevance. */
  orderBy?: readonly string[] | undefined
  /** Return the total number of matches in `count` (`count: true`). */
  count?: boolean | undefined
  /** Results to return, 0 to 100 (`top`). Dataverse's default: 50. */
  top?: number | undefined
  /** Results to skip (`skip`), for paging with `top`. */
  skip?: number | undefined
  /** `any` (default): a result matches any term; `all`: every term (`options.searchmode`). */
  searchMode?: 'any' | 'all' | undefined
  /** `simple` (default) or `lucene` query syntax (`options.querytype`). */
  queryType?: 'simple' | 'lucene' | undefined
  /** `options.besteffortsearchenabled`. */
  bestEffortSearch?: boolean | undefined
  /** `options.grouprankingenabled`. */
  groupRanking?: boolean | undefined
}

/** One record found (Learn: QueryResult). */
export interface SearchHit<T = Row> {
  id: string
  /** Table logical name. */
  entityName: string
  objectTypeCode: number
  /** The selected columns (with `@search.objecttypecode` and formatted values as Dataverse adds them). */
  attributes: T
  /** Matched columns with the hits marked `{crmhit}…{/crmhit}`. */
  highlights: Record<string, string[]>
  score: number
}

/** A facet bucket (Learn: FacetResult). */
export interface SearchFacet {
  count?: number | undefined
  value: unknown
  type: string
  from: unknown
  to: unknown
  optionalValue?: unknown
}

/** How Dataverse search changed the query (Learn: QueryContext); Learn says it is not in use yet. */
export interface SearchQueryContext {
  originalQuery?: string
  alteredQuery?: string
  reason?: string[]
  spellSuggestions?: string[]
}

/** What `client.search()` returns: the page of hits, ranked by relevance unless `orderBy` says otherwise. */
export interface SearchResult<T = Row> {
  hits: SearchHit<T>[]
  /** Total matches, ignoring `top` and `skip`; only with `count: true`. */
  count: number | undefined
  /** Facet buckets by facet name (empty when none were asked for). */
  facets: Record<string, SearchFacet[]>
  queryContext: SearchQueryContext | null
}

/** Options of `client.suggest()`. */
export interface SuggestOptions extends CallOptions {
  entities?: readonly (string | SearchEntity)[] | undefined
  filter?: string | undefined
  /** Tolerate one misspelled character (`fuzzy`). */
  fuzzy?: boolean | undefined
  orderBy?: readonly string[] | undefined
  /** Suggestions to return, 1 to 100 (`top`). Dataverse's default: 5. */
  top?: number | undefined
  /** `options.advancedsuggestenabled`. */
  advancedSuggest?: boolean | undefined
}

/** One suggestion (Learn: SuggestResult). */
export interface SearchSuggestion<T = Row> {
  /** The suggested text, the typed part marked `{crmhit}…{/crmhit}`. */
  text: string
  /** `@search.objectid`, `@search.entityname`, `@search.objecttypecode` and the record's columns. */
  document: T
}

/** What `client.suggest()` returns. */
export interface SuggestResult<T = Row> {
  suggestions: SearchSuggestion<T>[]
  queryContext: SearchQueryContext | null
}

/** Options of `client.autocomplete()`. */
export interface AutocompleteOptions extends CallOptions {
  entities?: readonly (string | SearchEntity)[] | undefined
  filter?: string | undefined
  fuzzy?: boolean | undefined
}

/** What `client.autocomplete()` returns. */
export interface AutocompleteResult {
  /** The completed search text, the completion marked `{crmhit}…{/crmhit}`; null when nothing completes it. */
  value: string | null
  queryContext: SearchQueryContext | null
}
