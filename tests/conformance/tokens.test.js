// @azure/msal-node, unmodified, against graph-emulator over HTTPS.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const msal = require('@azure/msal-node');
const { start, BUILD } = require('./emulator.js');

const APP = '0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f';
const SECRET = 'demo-only-secret-approvald';
const PUBLIC_APP = 'e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e';
const SCOPES = ['https://graph.microsoft.com/.default'];

let emu;
test.before(async () => { emu = await start(); });
test.after(() => emu.proc.kill('SIGTERM'));

function auth(extra) {
  return {
    authority: `${emu.url}/${emu.tenant}`,
    knownAuthorities: [emu.host],
    ...extra,
  };
}

// https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc
test('OpenID discovery document as MSAL reads it', async () => {
  const r = await fetch(`${emu.url}/${emu.tenant}/v2.0/.well-known/openid-configuration`);
  assert.equal(r.status, 200);
  const d = await r.json();
  assert.equal(d.token_endpoint, `${emu.url}/${emu.tenant}/oauth2/v2.0/token`);
  assert.equal(d.issuer, `${emu.url}/${emu.tenant}/v2.0`);
  for (const k of ['authorization_endpoint', 'jwks_uri', 'end_session_endpoint'])
    assert.equal(typeof d[k], 'string', k);
  const bad = await fetch(`${emu.url}/not-a-tenant/v2.0/.well-known/openid-configuration`);
  assert.equal(bad.status, 400);
});

// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
test('client secret: acquireTokenByClientCredential', async () => {
  const cca = new msal.ConfidentialClientApplication({
    auth: auth({ clientId: APP, clientSecret: SECRET }),
  });
  const r = await cca.acquireTokenByClientCredential({ scopes: SCOPES });
  assert.ok(r.accessToken.length > 10);
  assert.equal(r.tokenType, 'Bearer');
  const bad = new msal.ConfidentialClientApplication({
    auth: auth({ clientId: APP, clientSecret: 'wrong-secret' }),
  });
  await assert.rejects(bad.acquireTokenByClientCredential({ scopes: SCOPES }),
    (e) => e.errorCode === 'invalid_client');
});

// https://learn.microsoft.com/entra/identity-platform/certificate-credentials
function certCredential(kind) {
  const pem = fs.readFileSync(path.join(BUILD, 'tls/app.pem'), 'utf8');
  const key = fs.readFileSync(path.join(BUILD, 'tls/app-key.pem'), 'utf8');
  const der = new crypto.X509Certificate(pem).raw;
  const hash = kind === 'thumbprintSha256' ? 'sha256' : 'sha1';
  return { [kind]: crypto.createHash(hash).update(der).digest('hex'), privateKey: key };
}

for (const kind of ['thumbprintSha256', 'thumbprint']) {
  test(`certificate (${kind}): acquireTokenByClientCredential`, async () => {
    const cca = new msal.ConfidentialClientApplication({
      auth: auth({ clientId: APP, clientCertificate: certCredential(kind) }),
    });
    const r = await cca.acquireTokenByClientCredential({ scopes: SCOPES, skipCache: true });
    assert.ok(r.accessToken.length > 10);
  });
}

test('certificate of another key is refused', async () => {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const c = certCredential('thumbprintSha256');
  c.privateKey = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const cca = new msal.ConfidentialClientApplication({
    auth: auth({ clientId: APP, clientCertificate: c }),
  });
  await assert.rejects(cca.acquireTokenByClientCredential({ scopes: SCOPES }),
    (e) => e.errorCode === 'invalid_client');
});

// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
test('refresh token: acquireTokenByRefreshToken as the public client', async () => {
  const pca = new msal.PublicClientApplication({ auth: auth({ clientId: PUBLIC_APP }) });
  const r = await pca.acquireTokenByRefreshToken({
    refreshToken: 'demo-refresh-token-approvald',
    scopes: ['https://graph.microsoft.com/PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup'],
  });
  assert.ok(r.accessToken.length > 10);
  await assert.rejects(pca.acquireTokenByRefreshToken({
    refreshToken: 'not-a-refresh-token', scopes: ['User.Read'],
  }), (e) => e.errorCode === 'invalid_grant');
});
