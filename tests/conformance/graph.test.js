// @microsoft/microsoft-graph-client, unmodified, against graph-emulator over
// HTTPS, authenticated by tokens MSAL obtained from the emulator.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const msal = require('@azure/msal-node');
const { Client, PageIterator, GraphError } = require('@microsoft/microsoft-graph-client');
const { start, control } = require('./emulator.js');

const APP = '0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f';
const PUBLIC_APP = 'e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e';
const ALEX = '3cce9d87-3986-4f19-8335-7ed075408ca2';
const ALEX_MANAGER = '5f1c2e4a-8b7d-4c3e-9a21-6d0b8e7f4a13';
const ALL_APPROVERS = 'd2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b';
const SECOPS = '1623f912-5e86-41c2-af47-39dd67582b66';
const PIM = '/identityGovernance/privilegedAccess/group/assignmentScheduleRequests';

let emu, app, approver;

// A Graph client whose authProvider hands out the MSAL token of get().
function client(get) {
  return Client.init({
    baseUrl: `${emu.url}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(emu.url).hostname]),
    authProvider: (done) => get().then((t) => done(null, t), (e) => done(e, null)),
  });
}

test.before(async () => {
  emu = await start();
  const auth = { authority: `${emu.url}/${emu.tenant}`, knownAuthorities: [emu.host] };
  const cca = new msal.ConfidentialClientApplication({
    auth: { ...auth, clientId: APP, clientSecret: 'demo-only-secret-approvald' },
  });
  const pca = new msal.PublicClientApplication({ auth: { ...auth, clientId: PUBLIC_APP } });
  const scopes = ['https://graph.microsoft.com/.default'];
  app = client(async () => (await cca.acquireTokenByClientCredential({ scopes })).accessToken);
  const r = await pca.acquireTokenByRefreshToken({ refreshToken: 'demo-refresh-token-approvald', scopes });
  approver = client(async () => r.accessToken);
});
test.after(() => emu.proc.kill('SIGTERM'));

// https://learn.microsoft.com/graph/api/user-get, user-list-manager,
// directoryobject-checkmembergroups
test('directory calls approvald makes', async () => {
  const u = await app.api(`/users/${ALEX}`).get();
  assert.equal(u.id, ALEX);
  assert.equal(u.userPrincipalName, 'alex@contoso.com');
  const m = await app.api(`/users/${ALEX}/manager`).get();
  assert.equal(m.id, ALEX_MANAGER);
  const g = await app.api(`/users/${ALEX}/checkMemberGroups`).post({ groupIds: [SECOPS, ALL_APPROVERS] });
  assert.ok(Array.isArray(g.value));
});

// https://learn.microsoft.com/graph/api/group-list-transitivemembers ($top
// pages) and the SDK's PageIterator following @odata.nextLink.
test('PageIterator follows @odata.nextLink', async () => {
  const first = await app.api(`/groups/${ALL_APPROVERS}/transitiveMembers`).top(1).get();
  assert.equal(first.value.length, 1);
  assert.equal(typeof first['@odata.nextLink'], 'string');
  const seen = [];
  const it = new PageIterator(app, first, (m) => { seen.push(m.id); return true; });
  await it.iterate();
  assert.ok(seen.length > 1);
  assert.equal(new Set(seen).size, seen.length);
  const all = await app.api(`/groups/${ALL_APPROVERS}/transitiveMembers`).get();
  assert.deepEqual(seen.sort(), all.value.map((m) => m.id).sort());
});

// https://learn.microsoft.com/graph/api/privilegedaccessgroup-list-assignmentschedulerequests
// and privilegedaccessgroupassignmentschedulerequest-filterbycurrentuser
test('PIM for Groups lists: scoped filter, filterByCurrentUser, GraphError', async () => {
  const byGroup = await app.api(PIM).filter(`groupId eq '${SECOPS}'`).get();
  assert.ok(Array.isArray(byGroup.value));
  const mine = await approver.api(`${PIM}/filterByCurrentUser(on='approver')`).get();
  assert.ok(Array.isArray(mine.value));
  await assert.rejects(app.api(PIM).get(), (e) => e instanceof GraphError && e.statusCode === 400);
  await assert.rejects(app.api(PIM).filter(`groupId eq '${SECOPS}'`).top(5).get(),
    (e) => e instanceof GraphError && e.statusCode === 400);
});

test('GraphError carries statusCode and code on 404 and 403', async () => {
  await assert.rejects(app.api('/users/00000000-0000-0000-0000-000000000000').get(),
    (e) => e instanceof GraphError && e.statusCode === 404 && e.code === 'Request_ResourceNotFound');
  // approvals are read with delegated tokens only
  // (https://learn.microsoft.com/graph/api/approval-get)
  await assert.rejects(app.api('/identityGovernance/privilegedAccess/group/assignmentApprovals/x').get(),
    (e) => e instanceof GraphError && e.statusCode === 403 && e.code === 'Authorization_RequestDenied');
});

// https://learn.microsoft.com/graph/throttling: 429/503 with Retry-After,
// retried by the SDK's RetryHandler.
for (const status of [429, 503]) {
  test(`RetryHandler retries a ${status} with Retry-After`, async () => {
    const f = await control(emu, 'POST', '/_emulator/faults',
      { path: `/v1.0/users/${ALEX}`, kind: 'status', status, retryAfter: 1, count: 2 });
    assert.ok(f.status === 200 || f.status === 201, JSON.stringify(f.body));
    const u = await app.api(`/users/${ALEX}`).get();
    assert.equal(u.id, ALEX);
    const list = await control(emu, 'GET', '/_emulator/faults');
    const mine = JSON.stringify(list.body);
    assert.match(mine, /"hits":2/);
    await control(emu, 'DELETE', '/_emulator/faults');
  });
}
