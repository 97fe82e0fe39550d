// SPDX-License-Identifier: Apache-2.0
// Checks EPCIS 2.0 documents as a partner's repository would: each
// validates against GS1's EPCIS 2.0 JSON Schema (ajv, draft-07, formats),
// expands under the EPCIS 2.0 JSON-LD context with no key left unmapped
// (jsonld in safe mode, the context served from a file: nothing is
// fetched), and each event's eventID is the CBV 2.0 hash GS1 France's
// epcis2.js computes.
//
//   node epcis_check.mjs SCHEMA CONTEXT DOC...
// Prints "ok DOC N" or "FAIL DOC: why" per document; exits 0 only if all
// pass (2: usage). The packages come from YIMA_EPCIS_MODULES (default
// assets/epcis/npm/node_modules), installed by scripts/epcis.sh.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const [schemaFile, contextFile, ...docs] = process.argv.slice(2);
if (!schemaFile || !contextFile || docs.length === 0) {
  console.error('usage: epcis_check.mjs SCHEMA CONTEXT DOC...');
  process.exit(2);
}
const modules = resolve(process.env.YIMA_EPCIS_MODULES ||
  'assets/epcis/npm/node_modules');
const require = createRequire(`${modules}/`);
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const jsonld = require('jsonld');
const epcis2 = require('epcis2.js');

const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
const context = JSON.parse(readFileSync(contextFile, 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

// Only GS1's context, from the file; any other URL is refused.
const contextUrls = new Set([
  'https://ref.gs1.org/standards/epcis/epcis-context.jsonld',
  'https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld',
]);
const documentLoader = async (url) => {
  if (!contextUrls.has(url)) throw new Error(`no network: ${url}`);
  return { contextUrl: null, documentUrl: url, document: context };
};

// The prefixes a document's @context defines, for the event hash.
function prefixes(doc) {
  const out = {};
  for (const c of [].concat(doc['@context'] || []))
    if (c && typeof c === 'object') Object.assign(out, c);
  return out;
}

function eventsOf(doc) {
  const b = doc.epcisBody || {};
  return b.eventList || (b.queryResults && b.queryResults.resultsBody &&
    b.queryResults.resultsBody.eventList) || [];
}

let failed = 0;
for (const file of docs) {
  const why = [];
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    why.push(`not JSON: ${e.message}`);
  }
  if (doc && !validate(doc))
    why.push(`schema: ${ajv.errorsText(validate.errors.slice(0, 5))}`);
  if (doc) {
    try {
      await jsonld.expand(doc, { documentLoader, safe: true });
    } catch (e) {
      why.push(`JSON-LD: ${e.message}${e.details && e.details.event ?
        ' ' + JSON.stringify(e.details.event.details) : ''}`);
    }
    const ctx = prefixes(doc);
    eventsOf(doc).forEach((ev, i) => {
      const id = epcis2.eventToHashedId(JSON.parse(JSON.stringify(ev)), ctx);
      if (id !== ev.eventID && why.length < 5)
        why.push(`event ${i}: eventID ${ev.eventID}, CBV 2.0 hash ${id}`);
    });
  }
  if (why.length) {
    failed++;
    console.log(`FAIL ${file}: ${why.join('; ')}`);
  } else {
    console.log(`ok ${file} ${eventsOf(doc).length}`);
  }
}
process.exit(failed ? 1 : 0);
