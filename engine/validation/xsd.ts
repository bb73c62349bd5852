/**
 * CDA XML-schema validation with libxml2 (libxmljs low-level bindings).
 *
 * WHY not XMLDocument.validate(): it re-parses the whole CDA_extended.xsd tree on every call
 * (≈70–100 ms). We parse the schema ONCE (xmlSchemaNewDocParserCtxt + xmlSchemaParse) and keep the
 * compiled xmlSchema for the life of the process; each document only costs a validation context.
 * The "Skipping import of schema … infrastructureRoot.xsd" parser warning is upstream and harmless.
 */
import * as fs from 'node:fs';
import type { XMLDocument } from 'libxmljs';
import type * as LxFunctions from 'libxmljs/dist/lib/bindings/functions';
import { PasserelleError } from '../errors';
import type { Finding } from './types';

/*
 * libxmljs is loaded lazily: its native addon is not worker-thread safe (it aborts the process when
 * used from a second thread), so worker threads (pool.ts) must never load it; XSD stays on the main
 * thread.
 */
type Libxmljs = typeof import('libxmljs');
let libs: { libxmljs: Libxmljs; lx: typeof LxFunctions } | undefined;
function load(): { libxmljs: Libxmljs; lx: typeof LxFunctions } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  libs ??= { libxmljs: require('libxmljs') as Libxmljs, lx: require('libxmljs/dist/lib/bindings/functions') as typeof LxFunctions };
  return libs;
}

type SchemaPtr = NonNullable<ReturnType<typeof LxFunctions.xmlSchemaParse>>;

interface StructuredError {
  message?: string;
  level?: number;
  line?: number;
  column?: number;
  code?: number;
}

export class CdaSchema {
  /** number of times the XSD was parsed (tests assert it stays 1) */
  static parseCount = 0;
  private readonly schema: SchemaPtr;
  readonly loadWarnings: string[];
  /** keeps the schema document alive as long as the compiled schema refers to it */
  private readonly schemaDoc: XMLDocument;

  constructor(readonly xsdPath: string) {
    let text: string;
    try {
      text = fs.readFileSync(xsdPath, 'utf8');
    } catch (err) {
      throw new PasserelleError('PSL_VALIDATION_KIT_MISSING', `CDA schema not found: ${xsdPath}`, { cause: err });
    }
    const { libxmljs, lx } = load();
    this.schemaDoc = libxmljs.parseXml(text, { baseUrl: xsdPath });
    const doc = this.schemaDoc;
    const result = lx.withStructuredErrors<{ schema: SchemaPtr | null; errors: StructuredError[] }>((errors: StructuredError[]) => {
      const pc = lx.xmlSchemaNewDocParserCtxt(nativeDoc(doc));
      if (!pc) return { schema: null, errors };
      const schema = lx.xmlSchemaParse(pc);
      lx.xmlSchemaFreeParserCtxt(pc);
      return { schema, errors };
    });
    if (!result.schema) {
      throw new PasserelleError('PSL_VALIDATION_XSD_LOAD', `cannot compile ${xsdPath}: ${result.errors.map((e) => e.message).join('; ')}`);
    }
    CdaSchema.parseCount++;
    this.schema = result.schema;
    this.loadWarnings = result.errors.map((e) => String(e.message ?? '').trim());
  }

  /** Validate XML text; returns xsd findings (line-located) and not-well-formed as one error. */
  validate(xml: string): Finding[] {
    const { libxmljs, lx } = load();
    let doc: XMLDocument;
    try {
      doc = libxmljs.parseXml(xml, { flags: [libxmljs.XMLParseFlags.XML_PARSE_HUGE] });
    } catch (err) {
      const e = err as StructuredError;
      return [xsdFinding('error', e.line, e.column, `not well-formed: ${String(e.message ?? err).trim()}`)];
    }
    const schema = this.schema;
    const errors = lx.withStructuredErrors<StructuredError[]>((errs: StructuredError[]) => {
      const vc = lx.xmlSchemaNewValidCtxt(schema);
      if (!vc) throw new PasserelleError('PSL_VALIDATION_XSD_LOAD', 'cannot create a schema validation context');
      lx.xmlSchemaValidateDoc(vc, nativeDoc(doc));
      lx.xmlSchemaFreeValidCtxt(vc);
      return errs;
    });
    return errors.map((e) => xsdFinding((e.level ?? 2) <= 1 ? 'warning' : 'error', e.line, e.column, String(e.message ?? '').trim()));
  }
}

type DocPtr = Parameters<typeof LxFunctions.xmlSchemaValidateDoc>[1];

/** libxmljs keeps the native xmlDocPtr behind a protected accessor; the low-level API needs it. */
function nativeDoc(d: XMLDocument): DocPtr {
  return (d as unknown as { getNativeReference(): DocPtr }).getNativeReference();
}

function xsdFinding(severity: 'error' | 'warning', line: number | undefined, column: number | undefined, text: string): Finding {
  return {
    ruleSet: 'xsd',
    severity,
    kind: 'xsd',
    location: line ? `line ${line}${column ? `:${column}` : ''}` : 'document',
    text,
  };
}
