// Every Graph call approvald makes to decide, cancel and follow requests,
// sent through @microsoft/microsoft-graph-client unmodified, against
// graph-emulator over HTTPS; each answer's property names and enum values
// checked against @microsoft/microsoft-graph-types (v1.0) and -beta.
// The calls and tokens are those of daemon/net/call.c's endpoint table.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const msal = require('@azure/msal-node');
const { Client, GraphError } = require('@microsoft/microsoft-graph-client');
const { start, control } = require('./emulator.js');
const { undeclared, inEnum } = require('./graphtypes.js');

const V1 = '@microsoft/microsoft-graph-types';
const BETA = '@microsoft/microsoft-graph-types-beta';
const APP = '0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f';
const PUBLIC_APP = 'e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e';
const SECOPS = '1623f912-5e86-41c2-af47-39dd67582b66';
const FINANCE = 'd7be3253-b9c6-4fab-adef-30d30de8da2b';
const PIM = '/identityGovernance/privilegedAccess/group';
const EPM = '/identityGovernance/permissionsManagement';
const EM = '/identityGovernance/entitlementManagement';

let emu, app, approver, appBeta, approverBeta;

function client(get, version) {
  return Client.init({
    baseUrl: `${emu.url}/`,
    defaultVersion: version,
    customHosts: new Set([new URL(emu.url).hostname]),
    authProvider: (done) => get().then((t) => done(null, t), (e) => done(e, null)),
  });
}

function fixture(name) {
  return JSON.parse(fs.readFileSync(path.join(process.env.APPROVALD_SOURCE_DIR,
    'examples/requests', name)));
}

// A request made by `requestor` through the emulator's control API (the
// requestor's own call is not approvald's); its Graph answer.
async function create(requestor, body, source) {
  const r = await control(emu, 'POST', '/_emulator/requests', { requestor, body, source });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

function noProps(o, type, pkg, what) {
  assert.deepEqual(undeclared(o, type, pkg), [], `${what}: properties ${type} does not declare`);
}

test.before(async () => {
  emu = await start();
  const auth = { authority: `${emu.url}/${emu.tenant}`, knownAuthorities: [emu.host] };
  const scopes = ['https://graph.microsoft.com/.default'];
  const cca = new msal.ConfidentialClientApplication({
    auth: { ...auth, clientId: APP, clientSecret: 'demo-only-secret-approvald' },
  });
  const pca = new msal.PublicClientApplication({ auth: { ...auth, clientId: PUBLIC_APP } });
  const appToken = async () => (await cca.acquireTokenByClientCredential({ scopes })).accessToken;
  const r = await pca.acquireTokenByRefreshToken({ refreshToken: 'demo-refresh-token-approvald', scopes });
  const delegated = async () => r.accessToken;
  app = client(appToken, 'v1.0');
  approver = client(delegated, 'v1.0');
  appBeta = client(appToken, 'beta');
  approverBeta = client(delegated, 'beta');
});
test.after(() => emu.proc.kill('SIGTERM'));

// https://learn.microsoft.com/graph/api/privilegedaccessgroupassignmentschedulerequest-filterbycurrentuser,
// approval-get, approvalstage-get, approvalstage-update
test('PIM for Groups: read the approval and its stages, PATCH the stage once', async () => {
  const made = await create('alex@contoso.com', fixture('group-request-self-activate.json'));
  const mine = await approver.api(`${PIM}/assignmentScheduleRequests/filterByCurrentUser(on='approver')`).get();
  const req = mine.value.find((x) => x.id === made.id);
  assert.ok(req, 'listed for its approver');
  noProps(req, 'PrivilegedAccessGroupAssignmentScheduleRequest', V1, 'request');
  inEnum(req.action, 'ScheduleRequestActions', V1, 'action');
  inEnum(req.accessId, 'PrivilegedAccessGroupRelationships', V1, 'accessId');
  inEnum(req.memberType, 'PrivilegedAccessGroupMemberType', V1, 'memberType');
  assert.equal(req.status, 'PendingApproval');

  const appr = await approver.api(`${PIM}/assignmentApprovals/${req.approvalId}`).get();
  noProps(appr, 'Approval', V1, 'approval');
  const stages = await approver.api(`${PIM}/assignmentApprovals/${req.approvalId}/stages`).get();
  const cur = stages.value.find((s) => s.status === 'InProgress' && s.assignedToMe);
  assert.ok(cur, 'a stage in progress assigned to approvald');
  noProps(cur, 'ApprovalStage', V1, 'stage');
  // not reviewed yet: nobody reviewed it (reviewedBy null, not an empty object)
  assert.equal(cur.reviewResult, 'NotReviewed');
  assert.ok(cur.reviewedBy === null || cur.reviewedBy === undefined, JSON.stringify(cur.reviewedBy));

  const res = await approver.api(`${PIM}/assignmentApprovals/${req.approvalId}/stages/${cur.id}`)
    .patch({ reviewResult: 'Approve', justification: 'conformance: approved by approvald' });
  assert.ok(res === undefined || res === null || res === '', 'PATCH answers 204 No Content');
  const after = await approver.api(`${PIM}/assignmentApprovals/${req.approvalId}/stages/${cur.id}`).get();
  noProps(after, 'ApprovalStage', V1, 'stage after');
  // PATCH says Approve; the stage then reads Approved ("NotReviewed,
  // Approved, Denied": approvalstage resource type)
  assert.equal(after.reviewResult, 'Approved');
  assert.equal(after.status, 'Completed');
  assert.equal(after.justification, 'conformance: approved by approvald');
  assert.ok(after.reviewedBy && after.reviewedBy.id, 'reviewedBy names the reviewer');
  // a decided stage is not decided again
  await assert.rejects(
    approver.api(`${PIM}/assignmentApprovals/${req.approvalId}/stages/${cur.id}`)
      .patch({ reviewResult: 'Deny', justification: 'again' }),
    (e) => e instanceof GraphError && e.statusCode >= 400 && e.statusCode < 500);
  // approvals are delegated-only: the app token is refused
  await assert.rejects(
    app.api(`${PIM}/assignmentApprovals/${req.approvalId}/stages/${cur.id}`)
      .patch({ reviewResult: 'Approve', justification: 'app' }),
    (e) => e instanceof GraphError && e.statusCode === 403);
});

// https://learn.microsoft.com/graph/api/privilegedaccessgroupassignmentschedulerequest-cancel
// ("Don't supply a request body for this method"; 204 No Content).
test('PIM for Groups: cancel a pending request (no body)', async () => {
  const made = await create('alex@contoso.com', fixture('group-request-self-activate.json'));
  const res = await app.api(`${PIM}/assignmentScheduleRequests/${made.id}/cancel`).post();
  assert.ok(res === undefined || res === null || res === '', 'cancel answers 204');
  const one = await app.api(`${PIM}/assignmentScheduleRequests/${made.id}`).get();
  noProps(one, 'PrivilegedAccessGroupAssignmentScheduleRequest', V1, 'canceled request');
  assert.equal(one.status, 'Canceled');
  const scoped = await app.api(`${PIM}/assignmentScheduleRequests`).filter(`groupId eq '${SECOPS}'`).get();
  for (const r of scoped.value) {
    noProps(r, 'PrivilegedAccessGroupAssignmentScheduleRequest', V1, `request ${r.id}`);
    inEnum(r.action, 'ScheduleRequestActions', V1, 'action');
  }
});

// Permissions Management (beta): permissionsRequestChange,
// scheduledPermissionsRequest, the approval's steps (approvalStep), PATCH a
// step, cancelAll — the seeds' contract (api-reference/beta).
test('Permissions Management: changes, requests, steps, PATCH, cancelAll', async () => {
  const made = await create('alex@contoso.com', fixture('permissions-request-azure-role.json'), 'permissions');
  const since = new Date(Date.now() - 3600e3).toISOString();
  const changes = await appBeta.api(`${EPM}/permissionsRequestChanges`)
    .filter(`modificationDateTime gt ${since}`).get();
  const ch = changes.value.find((c) => c.permissionsRequestId === made.id);
  assert.ok(ch, 'a change for the new request');
  noProps(ch, 'PermissionsRequestChange', BETA, 'change');
  inEnum(ch.statusDetail, 'StatusDetail', BETA, 'change statusDetail');
  inEnum(ch.activeOccurrenceStatus, 'PermissionsRequestOccurrenceStatus', BETA, 'activeOccurrenceStatus');

  const reqs = await appBeta.api(`${EPM}/scheduledPermissionsRequests`).filter(`id eq '${made.id}'`).get();
  assert.equal(reqs.value.length, 1);
  noProps(reqs.value[0], 'ScheduledPermissionsRequest', BETA, 'request');
  inEnum(reqs.value[0].statusDetail, 'StatusDetail', BETA, 'statusDetail');
  assert.equal(reqs.value[0].statusDetail, 'submitted');

  const steps = await approverBeta.api(`${EPM}/scheduledPermissionsApprovals/${made.id}/steps`).get();
  const step = steps.value.find((s) => s.status === 'InProgress' && s.assignedToMe);
  assert.ok(step, 'a step in progress assigned to approvald');
  noProps(step, 'ApprovalStep', BETA, 'step');
  await approverBeta.api(`${EPM}/scheduledPermissionsApprovals/${made.id}/steps/${step.id}`)
    .patch({ reviewResult: 'Approve', justification: 'conformance' });
  const again = await appBeta.api(`${EPM}/scheduledPermissionsRequests`).filter(`id eq '${made.id}'`).get();
  assert.equal(again.value[0].statusDetail, 'approved');

  // only the requestor cancels a pending request (GRAPH.md, seed 003);
  // the requestor or an admin (approvald's account is one) an approved one
  const other = await create('alex@contoso.com', fixture('permissions-request-gcp-role.json'), 'permissions');
  await assert.rejects(approverBeta.api(`${EPM}/scheduledPermissionsRequests/${other.id}/cancelAll`).post(),
    (e) => e instanceof GraphError && e.statusCode === 403);
  const res = await approverBeta.api(`${EPM}/scheduledPermissionsRequests/${made.id}/cancelAll`).post();
  assert.ok(res === undefined || res === null || res === '', 'cancelAll answers 204');
  const gone = await appBeta.api(`${EPM}/scheduledPermissionsRequests`).filter(`id eq '${made.id}'`).get();
  assert.equal(gone.value[0].statusDetail, 'canceled');
});

// Entitlement management (v1.0): accessPackageAssignmentRequest list with
// the expansions approvald reads, the approval's stages, PATCH, cancel.
// https://learn.microsoft.com/graph/api/entitlementmanagement-list-assignmentrequests,
// approval-list-stages, approvalstage-update, accesspackageassignmentrequest-cancel
test('Entitlement management: pending requests, stages, PATCH, cancel', async () => {
  const body = { requestType: 'userAdd', assignment: { accessPackageId: FINANCE },
    justification: 'conformance: quarter close' };
  const made = await create('alex@contoso.com', body, 'access-package');
  const list = await app.api(`${EM}/assignmentRequests`)
    .filter("state eq 'pendingApproval'")
    .expand(['accessPackage', 'requestor', 'assignment($expand=target)']).get();
  const req = list.value.find((r) => r.id === made.id);
  assert.ok(req, 'the pending request is listed');
  noProps(req, 'AccessPackageAssignmentRequest', V1, 'request');
  inEnum(req.state, 'AccessPackageRequestState', V1, 'state');
  inEnum(req.requestType, 'AccessPackageRequestType', V1, 'requestType');
  noProps(req.accessPackage, 'AccessPackage', V1, 'accessPackage');
  noProps(req.requestor, 'AccessPackageSubject', V1, 'requestor');
  noProps(req.assignment, 'AccessPackageAssignment', V1, 'assignment');
  assert.ok(req.assignment.target, 'assignment($expand=target) names the target');
  noProps(req.assignment.target, 'AccessPackageSubject', V1, 'assignment target');
  // without the nested expansion the target is not there, nor beta's ids
  const bare = await app.api(`${EM}/assignmentRequests/${made.id}`).expand(['assignment']).get();
  assert.equal(bare.assignment.target, undefined);
  noProps(bare.assignment, 'AccessPackageAssignment', V1, 'bare assignment');

  const stages = await approver.api(`${EM}/accessPackageAssignmentApprovals/${made.id}/stages`).get();
  const cur = stages.value.find((s) => s.status === 'InProgress' && s.assignedToMe);
  assert.ok(cur, 'a stage in progress assigned to approvald');
  noProps(cur, 'ApprovalStage', V1, 'stage');
  await approver.api(`${EM}/accessPackageAssignmentApprovals/${made.id}/stages/${cur.id}`)
    .patch({ reviewResult: 'Approve', justification: 'conformance' });
  const one = await app.api(`${EM}/assignmentRequests/${made.id}`).get();
  inEnum(one.state, 'AccessPackageRequestState', V1, 'state after approval');
  assert.notEqual(one.state, 'pendingApproval');

  const other = await create('alex@contoso.com', body, 'access-package');
  const res = await approver.api(`${EM}/assignmentRequests/${other.id}/cancel`).post();
  assert.ok(res === undefined || res === null || res === '', 'cancel answers 204');
  const c = await app.api(`${EM}/assignmentRequests/${other.id}`).get();
  assert.equal(c.state, 'canceled');
});

// https://learn.microsoft.com/graph/api/subscription-post-subscriptions
// (the validation handshake: the service POSTs ?validationToken=... and
// expects it back as text/plain within 10 s), subscription-update,
// subscription-delete.
test('Subscriptions: create with the validation handshake, renew, delete', async () => {
  const seen = [];
  const srv = http.createServer((rq, rs) => {
    const u = new URL(rq.url, 'http://x');
    seen.push(u.searchParams.get('validationToken'));
    rs.writeHead(200, { 'content-type': 'text/plain' });
    rs.end(u.searchParams.get('validationToken') || '');
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  try {
    const url = `http://127.0.0.1:${srv.address().port}/hook`;
    const exp = new Date(Date.now() + 3600e3).toISOString();
    const sub = await app.api('/subscriptions').post({
      changeType: 'updated', notificationUrl: url, resource: `groups/${SECOPS}`,
      expirationDateTime: exp, clientState: 'conformance-client-state',
    });
    assert.ok(seen.length >= 1 && seen[0], 'the handshake reached the listener');
    noProps(sub, 'Subscription', V1, 'subscription');
    assert.equal(sub.resource, `groups/${SECOPS}`);
    const later = new Date(Date.now() + 7200e3).toISOString();
    const renewed = await app.api(`/subscriptions/${sub.id}`).patch({ expirationDateTime: later });
    if (renewed) noProps(renewed, 'Subscription', V1, 'renewed subscription');
    const all = await app.api('/subscriptions').get();
    for (const s of all.value) noProps(s, 'Subscription', V1, `subscription ${s.id}`);
    await app.api(`/subscriptions/${sub.id}`).delete();
    await assert.rejects(app.api(`/subscriptions/${sub.id}`).get(),
      (e) => e instanceof GraphError && e.statusCode === 404);
  } finally {
    srv.close();
  }
});
