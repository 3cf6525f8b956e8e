// Property names and enum values of a resource type as
// @microsoft/microsoft-graph-types (v1.0) or -beta declare them: the
// interface and those it extends, read from the package's .d.ts.
'use strict';
const fs = require('node:fs');

const cache = new Map();
const V1 = '@microsoft/microsoft-graph-types';
const BETA = '@microsoft/microsoft-graph-types-beta';

function source(pkg) {
  if (!cache.has(pkg)) {
    const file = require.resolve(`${pkg}/microsoft-graph.d.ts`);
    cache.set(pkg, fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n'));
  }
  return cache.get(pkg);
}

function hasInterface(name, pkg = V1) {
  return new RegExp(`^export interface ${name}(?: extends \\w+)? \\{`, 'm').test(source(pkg));
}

// Map of property name → {type, doc} of interface name (and its bases):
// type is the declared TypeScript type, doc the comment above it.
function declarations(name, pkg = V1) {
  const key = `${pkg}:${name}`;
  if (cache.has(key)) return cache.get(key);
  const text = source(pkg);
  const out = new Map();
  for (let n = name; n;) {
    // an empty interface is declared on one line: `… {}`
    const re = new RegExp(`^export interface ${n}(?: extends (\\w+))? \\{(?:\\}$|\\n([\\s\\S]*?)^\\})`, 'm');
    const m = re.exec(text);
    if (!m) throw new Error(`${pkg}: no interface ${n}`);
    let doc = '';
    if (m[2] === undefined) m[2] = '';
    for (const line of m[2].split('\n')) {
      const p = /^ {4}(\w+)\??: (.+);$/.exec(line);
      if (p) {
        if (!out.has(p[1])) out.set(p[1], { type: p[2], doc });
        doc = '';
      } else if (/^ {4}(\/\/|\/\*\*| \*)/.test(line)) {
        doc += line.replace(/^ {4}(\/\/ ?|\/\*\*|\s?\*\/?)/, ' ');
      }
    }
    n = m[1];
  }
  cache.set(key, out);
  return out;
}

// Returns the Set of property names of interface name in package pkg.
function properties(name, pkg = V1) {
  return new Set(declarations(name, pkg).keys());
}

// Names of o (an answer object) that interface name does not declare;
// OData annotations (@odata.*) are not properties.
function undeclared(o, name, pkg) {
  const known = properties(name, pkg);
  return Object.keys(o).filter((k) => !k.includes('@') && !known.has(k));
}

// The members of string enum `name` in package pkg (a union of string
// literals: `export type Name = "a" | "b" | ...;`), as a Set.
function enumValues(name, pkg = '@microsoft/microsoft-graph-types') {
  const m = new RegExp(`^export type ${name} =([^;]*);`, 'm').exec(source(pkg));
  if (!m) throw new Error(`${pkg}: no enum ${name}`);
  const out = new Set([...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]));
  if (out.size === 0) throw new Error(`${pkg}: ${name} is not a string enum`);
  return out;
}

// Asserts with a message naming the property: value v (when not null) is a
// member of enum `name`.
function inEnum(v, name, pkg, what) {
  if (v === null || v === undefined) return;
  const vals = enumValues(name, pkg);
  if (!vals.has(v)) throw new Error(`${what}: '${v}' is not a ${name} (${[...vals].join(', ')})`);
}

// The members of a string-literal union `export type name = "a" | "b"`,
// or null when name is not one.
function enumMembers(name, pkg = V1) {
  const m = new RegExp(`^export type ${name} =\\s*([\\s\\S]*?);$`, 'm').exec(source(pkg));
  if (!m || !/^\s*\|?\s*"/.test(m[1])) return null;
  return new Set([...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]));
}

// The values a string property's comment lists ("Possible values are: A,
// B, and C." / "Possible values include: …" / "Possible values: …"), or
// null. The types declare such properties as plain strings.
function documentedValues(doc) {
  const m = /possible values(?: are| include)?:?\s+([^.]*)\./i.exec(doc);
  if (!m) return null;
  const vals = m[1].split(/,\s*|\s+or\s+|\s+and\s+/).map((s) => s.replace(/^(and|or)\s+/, '').trim())
    .filter((s) => /^`?\w+`?$/.test(s)).map((s) => s.replace(/`/g, ''));
  return vals.length ? new Set(vals) : null;
}

// The element type of a declared type: NullableOption<X[]> → X.
function baseType(t) {
  let s = t.trim();
  for (;;) {
    const m = /^NullableOption<(.+)>$/.exec(s);
    if (!m) break;
    s = m[1];
  }
  return { name: s.replace(/\[\]$/, ''), array: s.endsWith('[]') };
}

// Every way o differs from interface name: properties the type does not
// declare, and enum values (a union type, or the values a string
// property's comment lists) it does not name; nested objects are checked
// against their declared type (or the one their @odata.type names).
// Returns a list of "path: problem" strings, empty when o conforms.
function conformance(o, name, pkg = V1, path = '') {
  const out = [];
  const odt = o && typeof o['@odata.type'] === 'string' ? o['@odata.type'].replace(/^#?microsoft\.graph\./i, '') : null;
  if (odt) {
    const t = odt[0].toUpperCase() + odt.slice(1);
    if (hasInterface(t, pkg)) name = t;
  }
  const decl = declarations(name, pkg);
  for (const [k, v] of Object.entries(o)) {
    if (k.includes('@')) continue;
    const p = path ? `${path}.${k}` : k;
    const d = decl.get(k);
    if (!d) { out.push(`${p}: not a property of ${name}`); continue; }
    if (v === null) continue;
    const { name: t } = baseType(d.type);
    for (const x of Array.isArray(v) ? v : [v]) {
      if (typeof x === 'string') {
        const members = enumMembers(t, pkg) || (t === 'string' ? documentedValues(d.doc) : null);
        if (members && !members.has(x)) out.push(`${p}: '${x}' is not one of ${[...members].join(', ')}`);
      } else if (x && typeof x === 'object' && hasInterface(t, pkg)) {
        out.push(...conformance(x, t, pkg, p));
      }
    }
  }
  return out;
}

module.exports = { properties, undeclared, enumMembers, conformance, enumValues, inEnum, V1, BETA };
