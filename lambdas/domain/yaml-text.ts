/**
 * YAML (and JSON) text read in time linear in its size. The parser's own duplicate-key check
 * compares every key of a mapping with every earlier one, which makes a mapping of n keys cost n²
 * (a 1 MiB document took tens of seconds); keys are checked here instead with one set per mapping.
 */
import { isMap, isScalar, LineCounter, parseAllDocuments, visit, type Document } from 'yaml';

export interface YamlText {
  documents: Document.Parsed[];
  lineCounter: LineCounter;
}

/** Every document of the text, parsed without the parser's quadratic key check. */
export function parseYamlDocuments(text: string): YamlText {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { uniqueKeys: false, lineCounter });
  return { documents: Array.isArray(parsed) ? parsed : [], lineCounter };
}

/**
 * Where the first repeated key of a mapping is, as `line L, column C` (1-based), or undefined. Keys
 * are equal as the parser's own check has them: scalars with the same value.
 */
export function firstDuplicateKey(document: Document.Parsed, lineCounter: LineCounter): string | undefined {
  let found: string | undefined;
  visit(document, {
    Map(_key, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) {
          const { line, col } = lineCounter.linePos(pair.key.range?.[0] ?? 0);
          found = `line ${line}, column ${col}`;
          return visit.BREAK;
        }
        seen.add(pair.key.value);
      }
      return undefined;
    },
  });
  return found;
}

/**
 * The value of a text holding exactly one YAML or JSON document, read in linear time; throws on
 * anything else (the message says what, never quoting the text).
 */
export function parseYamlValue(text: string, maxAliasCount: number): unknown {
  const { documents, lineCounter } = parseYamlDocuments(text);
  if (documents.length !== 1) throw new Error(`expected one document, found ${documents.length}`);
  const document = documents[0]!;
  if (document.errors.length > 0) throw new Error('not valid YAML or JSON');
  const duplicate = firstDuplicateKey(document, lineCounter);
  if (duplicate !== undefined) throw new Error(`${duplicate}: map keys must be unique`);
  return document.toJS({ maxAliasCount });
}
