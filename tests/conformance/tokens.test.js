// @azure/msal-node, unmodified, against graph-emulator over HTTPS.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const msal = require('@azure/msal-node');
const { start, control, BUILD } = require('./emulator.js');

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

const APPROVER = 'approvald@contoso.com';
const PIM_SCOPE = ['https://graph.microsoft.com/PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup'];

// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code:
// MSAL sends grant_type=device_code; the user signs in through the
// emulator's control endpoint; the id_token and client_info make an account
// that acquireTokenSilent then serves from MSAL's cache.
test('device code: acquireTokenByDeviceCode, then acquireTokenSilent', async () => {
  const pca = new msal.PublicClientApplication({ auth: auth({ clientId: PUBLIC_APP }) });
  let completed;
  const r = await pca.acquireTokenByDeviceCode({
    scopes: PIM_SCOPE,
    deviceCodeCallback: (dc) => {
      assert.match(dc.message, new RegExp(dc.userCode));
      completed = control(emu, 'POST', '/_emulator/devicecode',
        { user_code: dc.userCode, user: APPROVER });
    },
  });
  assert.equal((await completed).status, 200);
  assert.ok(r.accessToken.length > 10);
  assert.ok(r.idToken.split('.').length === 3);
  assert.equal(r.account.username, APPROVER);
  assert.equal(r.account.tenantId, emu.tenant);
  assert.equal(r.idTokenClaims.aud, PUBLIC_APP);
  assert.equal(r.idTokenClaims.ver, '2.0');
  const accounts = await pca.getTokenCache().getAllAccounts();
  assert.equal(accounts.length, 1);
  assert.equal(accounts[0].homeAccountId, `${r.idTokenClaims.oid}.${emu.tenant}`);
  const s = await pca.acquireTokenSilent({ account: accounts[0], scopes: PIM_SCOPE });
  assert.equal(s.accessToken, r.accessToken); // served from the cache
  assert.equal(s.fromCache, true);
  // forceRefresh redeems the cached refresh token as the public client
  const f = await pca.acquireTokenSilent({ account: accounts[0], scopes: PIM_SCOPE, forceRefresh: true });
  assert.notEqual(f.accessToken, r.accessToken);
  assert.equal(f.fromCache, false);
});

// The URN grant type of v2-oauth2-device-code, and the id_token signature
// checked against jwks_uri of the discovery document.
test('device code: URN grant_type; id_token verifies against jwks_uri', async () => {
  const base = `${emu.url}/${emu.tenant}/oauth2/v2.0`;
  const form = (o) => ({ method: 'POST', body: new URLSearchParams(o) });
  const dc = await (await fetch(`${base}/devicecode`, form({
    client_id: PUBLIC_APP, scope: 'openid profile User.Read' }))).json();
  const pending = await fetch(`${base}/token`, form({ client_id: PUBLIC_APP,
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: dc.device_code }));
  assert.equal(pending.status, 400);
  assert.equal((await pending.json()).error, 'authorization_pending');
  assert.equal((await control(emu, 'POST', '/_emulator/devicecode',
    { user_code: dc.user_code, user: APPROVER })).status, 200);
  const ok = await fetch(`${base}/token`, form({ client_id: PUBLIC_APP,
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: dc.device_code }));
  assert.equal(ok.status, 200);
  const t = await ok.json();
  assert.equal(t.client_info, undefined); // only when client_info=1 is asked
  const conf = await (await fetch(`${emu.url}/${emu.tenant}/v2.0/.well-known/openid-configuration`)).json();
  const jwks = await (await fetch(conf.jwks_uri)).json();
  const [h, p, sig] = t.id_token.split('.');
  const hdr = JSON.parse(Buffer.from(h, 'base64url'));
  const jwk = jwks.keys.find((k) => k.kid === hdr.kid);
  assert.ok(jwk, 'id_token kid is in jwks_uri');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  assert.ok(crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(sig, 'base64url')));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  assert.equal(claims.iss, conf.issuer);
  assert.equal(claims.preferred_username, APPROVER);
});
