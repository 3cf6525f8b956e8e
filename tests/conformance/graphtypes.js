// Property names of a resource type as @microsoft/microsoft-graph-types
// (v1.0) or -beta declare them: the interface and those it extends.
'use strict';
const fs = require('node:fs');

const cache = new Map();

function source(pkg) {
  if (!cache.has(pkg)) {
    const file = require.resolve(`${pkg}/microsoft-graph.d.ts`);
    cache.set(pkg, fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n'));
  }
  return cache.get(pkg);
}

// Returns the Set of property names of interface name in package pkg.
function properties(name, pkg = '@microsoft/microsoft-graph-types') {
  const text = source(pkg);
  const out = new Set();
  for (let n = name; n;) {
    const re = new RegExp(`^export interface ${n}(?: extends (\\w+))? \\{\\n([\\s\\S]*?)^\\}`, 'm');
    const m = re.exec(text);
    if (!m) throw new Error(`${pkg}: no interface ${n}`);
    for (const p of m[2].matchAll(/^ {4}(\w+)\??:/gm)) out.add(p[1]);
    n = m[1];
  }
  return out;
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

module.exports = { properties, undeclared, enumValues, inEnum };
