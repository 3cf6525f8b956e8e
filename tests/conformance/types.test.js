// Property names and enum values in graph-emulator's answers against the resource types of
// @microsoft/microsoft-graph-types (v1.0), read from its .d.ts.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const msal = require('@azure/msal-node');
const { Client } = require('@microsoft/microsoft-graph-client');
const { start, control } = require('./emulator.js');
const { conformance } = require('./graphtypes.js');

const ALEX = '3cce9d87-3986-4f19-8335-7ed075408ca2';
const ALL_APPROVERS = 'd2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b';
const PIM = '/identityGovernance/privilegedAccess/group';

let emu, app, approver;

function client(token) {
  return Client.init({
    baseUrl: `${emu.url}/`, defaultVersion: 'v1.0',
    customHosts: new Set([new URL(emu.url).hostname]),
    authProvider: (done) => done(null, token),
  });
}

test.before(async () => {
  emu = await start();
  const auth = { authority: `${emu.url}/${emu.tenant}`, knownAuthorities: [emu.host] };
  const scopes = ['https://graph.microsoft.com/.default'];
  const cca = new msal.ConfidentialClientApplication({ auth: { ...auth,
    clientId: '0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f', clientSecret: 'demo-only-secret-approvald' } });
  app = client((await cca.acquireTokenByClientCredential({ scopes })).accessToken);
  const pca = new msal.PublicClientApplication({ auth: { ...auth, clientId: 'e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e' } });
  approver = client((await pca.acquireTokenByRefreshToken({
    refreshToken: 'demo-refresh-token-approvald', scopes })).accessToken);
});
test.after(() => emu.proc.kill('SIGTERM'));

// https://learn.microsoft.com/graph/api/user-get,
// group-list-transitivemembers
test('directory answers use User/Group property names', async () => {
  assert.deepEqual(conformance(await app.api(`/users/${ALEX}`).get(), 'User'), []);
  assert.deepEqual(conformance(await app.api(`/users/${ALEX}/manager`).get(), 'User'), []);
  // the default properties of user-get, null where the tenant has no value
  const u = await app.api(`/users/${ALEX}`).get();
  assert.deepEqual(Object.keys(u).filter((k) => !k.includes('@')).sort(), ['businessPhones',
    'displayName', 'givenName', 'id', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation',
    'preferredLanguage', 'surname', 'userPrincipalName']);
  const sel = await app.api(`/users/${ALEX}`).select(['id', 'surname']).get();
  assert.deepEqual(Object.keys(sel).filter((k) => !k.includes('@')).sort(), ['id', 'surname']);
  const members = await app.api(`/groups/${ALL_APPROVERS}/transitiveMembers`).get();
  for (const m of members.value) {
    const type = m['@odata.type'] === '#microsoft.graph.group' ? 'Group' : 'User';
    assert.deepEqual(conformance(m, type), [], m.id);
  }
});

// https://learn.microsoft.com/graph/api/privilegedaccessgroupassignmentschedulerequest-get,
// approval-get, approvalstage-get
test('PIM request, approval and stages use v1.0 property names and enum values', async () => {
  const body = JSON.parse(fs.readFileSync(path.join(process.env.APPROVALD_SOURCE_DIR,
    'examples/requests/group-request-self-activate.json')));
  const made = await control(emu, 'POST', '/_emulator/requests', { requestor: 'alex@contoso.com', body });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const list = await approver.api(`${PIM}/assignmentScheduleRequests/filterByCurrentUser(on='approver')`).get();
  const req = list.value.find((r) => r.id === made.body.id);
  // as approvald lists: only those pending approval
  const pending = await approver.api(`${PIM}/assignmentScheduleRequests/filterByCurrentUser(on='approver')`)
    .filter("status eq 'PendingApproval'").get();
  assert.ok(pending.value.some((r) => r.id === made.body.id));
  for (const r of pending.value) {
    assert.equal(r.status, 'PendingApproval');
    assert.deepEqual(conformance(r, 'PrivilegedAccessGroupAssignmentScheduleRequest'), [], r.id);
  }
  assert.ok(req, 'the new request is listed for its approver');
  assert.deepEqual(conformance(req, 'PrivilegedAccessGroupAssignmentScheduleRequest'), []);
  const one = await app.api(`${PIM}/assignmentScheduleRequests/${req.id}`).get();
  assert.deepEqual(conformance(one, 'PrivilegedAccessGroupAssignmentScheduleRequest'), []);
  const appr = await approver.api(`${PIM}/assignmentApprovals/${req.approvalId}`).get();
  assert.deepEqual(conformance(appr, 'Approval'), []);
  const stages = await approver.api(`${PIM}/assignmentApprovals/${req.approvalId}/stages`).get();
  assert.ok(stages.value.length > 0);
  for (const s of stages.value) assert.deepEqual(conformance(s, 'ApprovalStage'), [], s.id);
});

// The checker itself: it must see a wrong enum value (a union type, or a
// string property's documented "Possible values"), an undeclared nested
// property, and the type an @odata.type names.
test('conformance() reports enum values and nested names the types do not declare', () => {
  assert.deepEqual(conformance({ accessId: 'guest', action: 'selfActivate', status: 'TimedOut',
    scheduleInfo: { expiration: { type: 'afterDuration', duration: 'PT1H', extra: 1 } } },
  'PrivilegedAccessGroupAssignmentScheduleRequest'), [
    "accessId: 'guest' is not one of owner, member, unknownFutureValue",
    "status: 'TimedOut' is not one of Canceled, Denied, Failed, Granted, PendingAdminDecision, " +
      'PendingApproval, PendingProvisioning, PendingScheduleCreation, Provisioned, Revoked, ScheduleCreated',
    'scheduleInfo.expiration.extra: not a property of ExpirationPattern']);
  assert.deepEqual(conformance({ reviewResult: 'Approve', status: 'InProgress',
    reviewedBy: { id: 'x', userPrincipalName: 'u' } }, 'ApprovalStage'), [
    "reviewResult: 'Approve' is not one of NotReviewed, Approved, Denied",
    'reviewedBy.userPrincipalName: not a property of Identity']);
  assert.deepEqual(conformance({ reviewedBy: { '@odata.type': '#microsoft.graph.userIdentity',
    id: 'x', userPrincipalName: 'u' } }, 'ApprovalStage'), []);
});
