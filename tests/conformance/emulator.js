// Start graph-emulator over HTTPS on a loopback port chosen by the kernel
// and wait for its "listening on URL" line (no sleeps).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BUILD = process.env.APPROVALD_BUILD_DIR;
const SRC = process.env.APPROVALD_SOURCE_DIR;

// The demo tenant with the test app certificate registered on approvald's app.
function writeFixture() {
  const f = JSON.parse(fs.readFileSync(path.join(SRC, 'examples/demo-tenant.json')));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
  for (const a of f.apps)
    if (a.clientId === '0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f')
      a.certificateFile = path.join(BUILD, 'tls/app.pem');
  f.tokens = { ...(f.tokens || {}), deviceCodeInterval: 1 }; // MSAL honours interval
  fs.symlinkSync(path.join(SRC, 'examples/requests'), path.join(dir, 'requests'));
  const file = path.join(dir, 'tenant.json');
  fs.writeFileSync(file, JSON.stringify(f));
  return { file, tenant: f.tenantId };
}

function start() {
  const fx = writeFixture();
  const p = spawn(path.join(BUILD, 'emulator/graph-emulator'),
    ['--listen', '127.0.0.1:0', '--fixture', fx.file,
      '--tls-cert', path.join(BUILD, 'tls/server.pem'),
      '--tls-key', path.join(BUILD, 'tls/server-key.pem')],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    p.on('exit', (code) => reject(new Error(`graph-emulator exited ${code}`)));
    p.stdout.on('data', (d) => {
      buf += d;
      const m = /listening on (\S+)/.exec(buf);
      if (m) resolve({ proc: p, url: m[1], host: new URL(m[1]).host, tenant: fx.tenant });
    });
  });
}

// A control-API call; returns the parsed JSON answer.
async function control(emu, method, p, body) {
  const r = await fetch(emu.url + p, {
    method, headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

module.exports = { start, control, BUILD };
