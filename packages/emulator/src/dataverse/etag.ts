/** Does an `If-Match` / `If-None-Match` header name `etag` (or `*`)? */
export function matchesEtag(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  const bare = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '')
  return header.split(',').some((h) => bare(h) === bare(etag))
}
