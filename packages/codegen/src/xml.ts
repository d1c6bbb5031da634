import { SaxesParser } from 'saxes'
import { CodegenError } from './errors.ts'

/** Receives the elements of a document in order; names are local (without a namespace prefix). */
export interface XmlHandler {
  open(name: string, attributes: Record<string, string>): void
  close(name: string): void
}

const local = (qname: string) => qname.slice(qname.indexOf(':') + 1)

const END_TAG = /<\/([^\s>]+)/y
/** The name in the last end tag before `position` (saxes reports the element an end tag closes, not the tag). */
function endTagBefore(xml: string, position: number): string | undefined {
  END_TAG.lastIndex = xml.lastIndexOf('</', position - 1)
  return END_TAG.exec(xml)?.[1]
}

// saxes's wording for the problems a truncated or hand-edited $metadata has most often, said as this package says it.
const PROBLEMS: [RegExp, string][] = [
  [/^unclosed tag: (.+)$/, '<$1> is never closed'],
  [/^documents may contain only one root\.$/, 'a second root element'],
  [/^text data outside of root node\.$/, 'text outside the root element'],
  [/^document must contain a root element\.$/, 'no root element'],
  [/^unquoted attribute value\.$/, 'expected a quoted value for an attribute'],
  [
    /^(undefined entity|malformed character entity)\.$/,
    'bad entity (only &amp; &lt; &gt; &quot; &apos; and &#...; exist)',
  ],
]

/**
 * A single forward pass over an XML document with saxes, linear in its length (Dataverse's `$metadata` runs to tens
 * of MB): elements and attributes (entities decoded) are reported; text, comments, processing instructions and CDATA
 * are skipped. The whole document must be well-formed, and DTDs are refused, so no entity expansion can blow up.
 * @throws {CodegenError} `INVALID_XML` with the line and column of the problem.
 */
export function scanXml(xml: string, handler: XmlHandler): void {
  const parser = new SaxesParser({ position: true })
  const fail = (what: string): never => {
    throw new CodegenError(
      'INVALID_XML',
      `Not well-formed XML at line ${parser.line}, column ${parser.column + 1}: ${what}`,
    )
  }
  parser.on('error', (error) => {
    const said = error.message.replace(/^\d+:\d+: /, '')
    if (said.startsWith('unmatched closing tag'))
      fail(`</${endTagBefore(xml, parser.position)}> closes nothing`)
    if (said === 'disallowed character.') {
      const code = xml.codePointAt(parser.position - 1) ?? 0
      const shown = code > 0x20 && code < 0x7f ? `'${String.fromCodePoint(code)}' ` : ''
      fail(`character ${shown}U+${code.toString(16).toUpperCase().padStart(4, '0')} is not allowed here`)
    }
    const known = PROBLEMS.find(([pattern]) => pattern.test(said))
    fail(known ? said.replace(known[0], known[1]) : said.replace(/\.$/, ''))
  })
  parser.on('doctype', () => fail('DOCTYPE declarations are not accepted in CSDL'))
  let attributes: Record<string, string> = {}
  parser.on('opentagstart', () => {
    attributes = {}
  })
  parser.on('attribute', ({ name, value }) => {
    // prefixes are dropped, so two attributes may differ only in theirs
    const key = local(name)
    if (Object.hasOwn(attributes, key)) fail(`attribute ${name} given twice`)
    attributes[key] = value
  })
  parser.on('opentag', (tag) => handler.open(local(tag.name), attributes))
  parser.on('closetag', (tag) => {
    // saxes pops the open element before it compares the end tag's name with it
    const closing = tag.isSelfClosing ? tag.name : endTagBefore(xml, parser.position)
    if (closing !== tag.name) fail(`</${closing}> closes <${tag.name}>`)
    handler.close(local(tag.name))
  })
  parser.write(xml).close()
}
