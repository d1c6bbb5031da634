import { createBatch } from './batch.ts'
import type { DataverseClient } from './client-types.ts'
import { DataverseError } from './errors.ts'
import { common, parseJson, prefer, type Scope } from './internal/core.ts'
import { countsRecords, pagingCookieFrom, readFetch, setFetchAttributes } from './internal/fetchxml.ts'
import { checkName, encodeQueryValue } from './internal/paths.ts'
import { annotationPreference, fetchXmlAnnotations } from './query.ts'
import type { FetchXmlOptions, FetchXmlPage } from './types.ts'

type FetchXmlMethods = Pick<DataverseClient, 'fetchXmlPage' | 'fetchXml'>

/** Longest GET URL sent as is (PyDV enforces 32,768 for FetchXML); longer FetchXML goes through `$batch`. */
const MAX_GET_URL = 32_768

/** FetchXML queries: one page (through `$batch` when the URL would be too long) or every row. */
export function fetchXmlMethods(scope: Scope): FetchXmlMethods {
  const { core, baseUrl, headersFor, impersonate } = scope
  const client: FetchXmlMethods = {
    async fetchXmlPage<T>(
      entitySet: string,
      fetchXml: string,
      options?: FetchXmlOptions & { page?: number; pagingCookie?: string | undefined },
    ) {
      const path = checkName(entitySet, 'Entity set')
      // "Don't use the fetch element top attribute with paging" (Microsoft Learn: Page results using FetchXml):
      // a query with `top` is sent as written, as one request, and paging options are refused.
      const root = readFetch(fetchXml)
      const top = root.attributes.get('top')
      if (top !== undefined && (options?.page !== undefined || options?.pageSize !== undefined)) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          'This FetchXML has a top attribute, which Dataverse does not combine with paging: remove top to page, or drop page/pageSize.',
        )
      }
      if (top !== undefined && root.attributes.has('page')) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          'This FetchXML has both top and page attributes, which Dataverse does not combine: keep one of them.',
        )
      }
      const page = top !== undefined ? 1 : (options?.page ?? Number(root.attributes.get('page') ?? 1))
      const size = options?.pageSize ?? Number(root.attributes.get('count') ?? 5000)
      // A first request without paging options goes out as written (Microsoft Learn: Use FetchXml to retrieve data,
      // Aggregate data using FetchXml): Dataverse applies its own default page size (5,000, or 500 on elastic tables)
      // and an aggregate query gets no paging attributes it never asked for.
      const asWritten =
        top !== undefined ||
        (options?.page === undefined &&
          options?.pageSize === undefined &&
          options?.pagingCookie === undefined)
      const xml = asWritten
        ? fetchXml
        : setFetchAttributes(
            fetchXml,
            { page: String(page), count: String(size), 'paging-cookie': options?.pagingCookie },
            root,
          )
      const query = `?fetchXml=${encodeQueryValue(xml, 'fetchXml')}`
      let body: Record<string, unknown>
      if (baseUrl.length + path.length + query.length > MAX_GET_URL) {
        // Too long for a GET URL: send it inside a $batch, whose inner URLs may be up to 64 KB
        // (powerapps-docs use-fetchxml-web-api). It is an ordinary batch, so auth and retries apply (DWA #175).
        const batch = createBatch(core, options?.impersonate ?? impersonate, {
          signal: options?.signal,
          timeoutMs: options?.timeoutMs,
        })
        batch.query(path, {
          fetchXml: xml,
          ...(options?.formattedValues !== undefined ? { formattedValues: options.formattedValues } : {}),
          ...(options?.annotations !== undefined ? { annotations: options.annotations } : {}),
        })
        const [only] = await batch.execute<Record<string, unknown>>()
        if (!only)
          throw new DataverseError('INVALID_RESPONSE', 'POST $batch: no response for the FetchXML query.')
        if (!only.ok) throw only.error
        body = only.body ?? {}
      } else {
        const result = await core.send({
          method: 'GET',
          path,
          query,
          headers: headersFor(
            options,
            prefer(annotationPreference(options ?? {}, fetchXmlAnnotations(countsRecords(root)))),
          ),
          idempotent: true,
          ...common(options),
        })
        body = parseJson<Record<string, unknown>>(result, 'GET', path)
      }
      const cookie = pagingCookieFrom(
        body['@Microsoft.Dynamics.CRM.fetchxmlpagingcookie'] as string | undefined,
      )
      const out: FetchXmlPage<T> = {
        value: (body.value as T[] | undefined) ?? [],
        moreRecords: top === undefined && body['@Microsoft.Dynamics.CRM.morerecords'] === true,
        page,
      }
      if (cookie) out.pagingCookie = cookie
      if (typeof body['@odata.count'] === 'number') out.count = body['@odata.count']
      const total = body['@Microsoft.Dynamics.CRM.totalrecordcount']
      if (typeof total === 'number') out.totalRecordCount = total
      const exceeded = body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded']
      if (typeof exceeded === 'boolean') out.totalRecordCountLimitExceeded = exceeded
      return out
    },

    async *fetchXml<T>(entitySet: string, fetchXml: string, options?: FetchXmlOptions) {
      const root = readFetch(fetchXml)
      // The first page as written; the next ones in the size of the query's `count`, the `pageSize` option, or else
      // the size Dataverse chose for the first page (which had more rows behind it, so it was a full page).
      let result: FetchXmlPage<T> = await client.fetchXmlPage<T>(entitySet, fetchXml, options)
      const pageSize =
        options?.pageSize ?? (root.attributes.has('count') ? undefined : Math.max(1, result.value.length))
      for (;;) {
        yield* result.value
        if (!result.moreRecords || result.value.length === 0) return
        result = await client.fetchXmlPage<T>(entitySet, fetchXml, {
          ...options,
          ...(pageSize === undefined ? {} : { pageSize }),
          page: result.page + 1,
          pagingCookie: result.pagingCookie,
        })
      }
    },
  } as FetchXmlMethods
  return client
}
