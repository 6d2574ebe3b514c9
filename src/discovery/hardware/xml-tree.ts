// A small, strict XML reader for tool reports such as `nvidia-smi -q -x`: elements, attributes, text, the
// five named entities and character references. Declarations, DOCTYPE, comments and processing instructions are
// skipped; CDATA is kept as text. No namespaces and no DTD entities, which these reports do not use.
import { InfernetError } from '../../errors/index.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, trimmed, without that of its children. */
  text: string;
}

export class XmlSyntaxError extends InfernetError {
  override readonly name = 'XmlSyntaxError';
  constructor(
    readonly detail: string,
    readonly offset: number,
  ) {
    super('internal', `malformed XML at character ${offset}: ${detail}`);
  }
}

const SKIPPED = /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE(?:[^>[]|\[[\s\S]*?\])*>/y;
const CDATA = /<!\[CDATA\[([\s\S]*?)\]\]>/y;
const END_TAG = /<\/([^\s>]+)\s*>/y;
const START_TAG = /<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const TEXT = /[^<]+/y;
const ATTRIBUTE = /([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

interface OpenElement {
  element: XmlElement;
  text: string[];
}

export function parseXml(source: string): XmlElement {
  const document: OpenElement = { element: { name: '#document', attributes: {}, children: [], text: '' }, text: [] };
  const open: OpenElement[] = [document];
  let offset = 0;
  while (offset < source.length) offset = readToken(source, offset, open);
  if (open.length > 1) throw new XmlSyntaxError(`<${open.at(-1)?.element.name}> is never closed`, source.length);
  const [root, ...others] = document.element.children;
  if (!root || others.length > 0) throw new XmlSyntaxError('expected exactly one root element', 0);
  return root;
}

/** Consumes one token at offset and returns where the next one starts. */
function readToken(source: string, offset: number, open: OpenElement[]): number {
  const current = open.at(-1) as OpenElement;
  let match: RegExpExecArray | null;
  if ((match = matchAt(SKIPPED, source, offset))) return offset + match[0].length;
  if ((match = matchAt(CDATA, source, offset))) {
    current.text.push(match[1] ?? '');
    return offset + match[0].length;
  }
  if ((match = matchAt(END_TAG, source, offset))) {
    closeElement(match[1] ?? '', offset, open);
    return offset + match[0].length;
  }
  if ((match = matchAt(START_TAG, source, offset))) {
    openElement(match, open);
    return offset + match[0].length;
  }
  if ((match = matchAt(TEXT, source, offset))) {
    current.text.push(decodeEntities(match[0], offset));
    return offset + match[0].length;
  }
  throw new XmlSyntaxError(`unexpected "${source.slice(offset, offset + 20)}"`, offset);
}

function matchAt(pattern: RegExp, source: string, offset: number): RegExpExecArray | null {
  pattern.lastIndex = offset;
  return pattern.exec(source);
}

function openElement(match: RegExpExecArray, open: OpenElement[]): void {
  const attributes = attributesOf(match[2] ?? '');
  const element: XmlElement = { name: match[1] ?? '', attributes, children: [], text: '' };
  (open.at(-1) as OpenElement).element.children.push(element);
  if (match[3] !== '/') open.push({ element, text: [] });
}

function closeElement(name: string, offset: number, open: OpenElement[]): void {
  const current = open.pop();
  if (!current || open.length === 0 || current.element.name !== name) {
    throw new XmlSyntaxError(`</${name}> does not close <${current?.element.name ?? 'nothing'}>`, offset);
  }
  current.element.text = current.text.join('').trim();
}

function attributesOf(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of source.matchAll(ATTRIBUTE)) {
    attributes[match[1] ?? ''] = decodeEntities(match[2] ?? match[3] ?? '', 0);
  }
  return attributes;
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string, offset: number): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    const named = NAMED_ENTITIES[entity];
    if (named === undefined) throw new XmlSyntaxError(`unknown entity ${whole}`, offset);
    return named;
  });
}

/** The first child element with this name, if any. */
export function childOf(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((child) => child.name === name);
}

export function childrenOf(element: XmlElement | undefined, name: string): XmlElement[] {
  return element?.children.filter((child) => child.name === name) ?? [];
}

/** The text at a path of direct children, e.g. textAt(gpu, 'fb_memory_usage', 'total'). */
export function textAt(element: XmlElement | undefined, ...path: string[]): string | undefined {
  const target = path.reduce<XmlElement | undefined>((node, name) => childOf(node, name), element);
  return target?.text;
}
