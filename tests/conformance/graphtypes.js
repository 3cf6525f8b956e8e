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

module.exports = { properties, undeclared };
