import { SaxesParser } from 'saxes'

/**
 * The table a FetchXML query reads: the `name` of the `<entity>` directly inside the root `<fetch>` (entities
 * decoded; an `<entity>` in a comment or a `<link-entity>` does not count).
 * @returns the logical name, or a sentence saying why the file gives none (not well-formed, another root, no entity)
 */
export function fetchXmlEntityName(xml: string): { name: string } | { problem: string } {
  const parser = new SaxesParser({ position: true })
  const open: string[] = []
  let name: string | undefined
  let problem: string | undefined
  parser.on('error', (error) => {
    problem ??= `not well-formed XML at line ${parser.line}, column ${parser.column + 1}: ${error.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '')}`
  })
  parser.on('doctype', () => {
    problem ??= 'a DOCTYPE declaration is not accepted'
  })
  parser.on('opentag', (tag) => {
    if (open.length === 0 && tag.name !== 'fetch')
      problem ??= `the root element is <${tag.name}>, not <fetch>`
    if (open.length === 1 && tag.name === 'entity') name ??= (tag.attributes as Record<string, string>).name
    if (!tag.isSelfClosing) open.push(tag.name)
  })
  parser.on('closetag', (tag) => {
    if (!tag.isSelfClosing) open.pop()
  })
  try {
    parser.write(xml).close()
  } catch {
    // saxes throws after reporting an error it cannot go on from; the first problem is kept above
  }
  if (problem) return { problem }
  return name ? { name } : { problem: 'it has no <entity name="..."> inside <fetch>' }
}
