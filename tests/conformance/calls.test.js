// Every other Graph call approvald makes (daemon/net/call.c, call_endpoints;
// the exact requests of daemon/src_*.c, lister.c, subs.c), made with
// @microsoft/microsoft-graph-client against graph-emulator, each answer's
// property names and enum values compared with
// @microsoft/microsoft-graph-types (v1.0) or -beta for beta endpoints.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const msal = require('@azure/msal-node');
const { Client, GraphError, ResponseType, AuthenticationHandler, HTTPMessageHandler } =
  require('@microsoft/microsoft-graph-client');
const { start, control } = require('./emulator.js');
const { conformance, BETA } = require('./graphtypes.js');

const SECOPS = '1623f912-5e86-41c2-af47-39dd67582b66';
const FINANCE = 'd7be3253-b9c6-4fab-adef-30d30de8da2b';
const GRP = '/identityGovernance/privilegedAccess/group';
const EPM = '/identityGovernance/permissionsManagement';
const EM = '/identityGovernance/entitlementManagement';

let emu, app, approver, alex, sent;

// Records what the SDK puts on the wire (method, URL, headers, body).
class Recorder {
  async execute(context) {
    sent.push({ method: context.options.method, url: String(context.request),
      headers: new Headers(context.options.headers), body: context.options.body });
    return this.next.execute(context);
  }
  setNext(next) { this.next = next; }
}

// A Graph client (Client.initWithMiddleware) whose requests are recorded.
function client(token, version = 'v1.0') {
  const auth = new AuthenticationHandler({ getAccessToken: async () => token });
  const rec = new Recorder();
  auth.setNext(rec);
  rec.setNext(new HTTPMessageHandler());
  return Client.initWithMiddleware({
    baseUrl: `${emu.url}/`, defaultVersion: version,
    customHosts: new Set([new URL(emu.url).hostname]), middleware: auth,
  });
}

async function raw(req, method, body) {
  return req.responseType(ResponseType.RAW)[method](body);
}

function example(name) {
  return JSON.parse(fs.readFileSync(path.join(process.env.APPROVALD_SOURCE_DIR,
    'examples/requests', name)));
}

async function make(requestor, body, source) {
  const r = await control(emu, 'POST', '/_emulator/requests', { requestor, body, source });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function userToken(user) {
  const r = await control(emu, 'POST', '/_emulator/token', { user });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

const ok = (o, type, pkg) => assert.deepEqual(conformance(o, type, pkg), [], JSON.stringify(o));

test.before(async () => {
  emu = await start();
  const auth = { authority: `${emu.url}/${emu.tenant}`, knownAuthorities: [emu.host] };
  const scopes = ['https://graph.microsoft.com/.default'];
  const cca = new msal.ConfidentialClientApplication({ auth: { ...auth,
    clientId: '0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f', clientSecret: 'demo-only-secret-approvald' } });
  const at = (await cca.acquireTokenByClientCredential({ scopes })).accessToken;
  const pca = new msal.PublicClientApplication({ auth: { ...auth, clientId: 'e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e' } });
  const dt = (await pca.acquireTokenByRefreshToken({
    refreshToken: 'demo-refresh-token-approvald', scopes })).accessToken;
  app = { v1: client(at), beta: client(at, 'beta') };
  approver = { v1: client(dt), beta: client(dt, 'beta') };
  const a = await userToken('alex@contoso.com');
  alex = { v1: client(a), beta: client(a, 'beta') };
});
test.beforeEach(() => { sent = []; });
test.after(() => emu.proc.kill('SIGTERM'));

// https://learn.microsoft.com/graph/api/approval-get,
// approvalstage-update (204; 409 "already been approved"),
// privilegedaccessgroupassignmentschedulerequest-cancel (204)
test('PIM for Groups: approval, stages, decision, second decision, cancel', async () => {
  const made = await make('alex@contoso.com', example('group-request-self-activate.json'));
  ok(made, 'PrivilegedAccessGroupAssignmentScheduleRequest');
  assert.equal(made.status, 'PendingApproval');
  const listed = await app.v1.api(`${GRP}/assignmentScheduleRequests`)
    .filter(`groupId eq '${made.groupId}' and status eq 'PendingApproval'`).get();
  const req = listed.value.find((r) => r.id === made.id);
  ok(req, 'PrivilegedAccessGroupAssignmentScheduleRequest');
  const appr = await approver.v1.api(`${GRP}/assignmentApprovals/${req.approvalId}`).get();
  ok(appr, 'Approval');
  const stages = await approver.v1.api(`${GRP}/assignmentApprovals/${req.approvalId}/stages`).get();
  assert.equal(stages.value.length, 1);
  const st = stages.value[0];
  ok(st, 'ApprovalStage');
  assert.equal(st.status, 'InProgress');
  assert.equal(st.reviewResult, 'NotReviewed');
  assert.equal(st.assignedToMe, true);
  const stageUrl = `${GRP}/assignmentApprovals/${req.approvalId}/stages/${st.id}`;
  sent = [];
  const r = await raw(approver.v1.api(stageUrl), 'patch', { reviewResult: 'Approve', justification: 'conformance' });
  assert.equal(r.status, 204);
  assert.equal(sent[0].method, 'PATCH');
  assert.deepEqual(JSON.parse(sent[0].body), { reviewResult: 'Approve', justification: 'conformance' });
  const done = (await approver.v1.api(`${GRP}/assignmentApprovals/${req.approvalId}/stages`).get()).value[0];
  ok(done, 'ApprovalStage');
  assert.equal(done.status, 'Completed');
  assert.equal(done.reviewResult, 'Approved');
  assert.equal(done.justification, 'conformance');
  assert.equal(done.assignedToMe, false);
  await assert.rejects(approver.v1.api(stageUrl).patch({ reviewResult: 'Deny', justification: 'again' }),
    (e) => e instanceof GraphError && e.statusCode === 409);
  const after = await app.v1.api(`${GRP}/assignmentScheduleRequests/${req.id}`).get();
  ok(after, 'PrivilegedAccessGroupAssignmentScheduleRequest');
  assert.ok(['Granted', 'Provisioned'].includes(after.status), after.status);

  // cancel: POST with no body, app token (approvald's), 204
  const other = await make('alex@contoso.com', { ...example('group-request-self-activate.json'), accessId: 'owner' });
  sent = [];
  const c = await raw(app.v1.api(`${GRP}/assignmentScheduleRequests/${other.id}/cancel`), 'post');
  assert.equal(c.status, 204);
  assert.equal(sent[0].method, 'POST');
  assert.equal(sent[0].body, undefined);
  assert.doesNotMatch(sent[0].headers.get('content-type') || '', /form/);
  const canceled = await app.v1.api(`${GRP}/assignmentScheduleRequests/${other.id}`).get();
  ok(canceled, 'PrivilegedAccessGroupAssignmentScheduleRequest');
  assert.equal(canceled.status, 'Canceled');
  await assert.rejects(app.v1.api(`${GRP}/assignmentScheduleRequests/${other.id}/cancel`).post(),
    (e) => e instanceof GraphError && e.statusCode === 400);
});

// Permissions Management (beta): permissionsRequestChanges,
// scheduledPermissionsRequests ($filter id eq …), scheduledPermissionsApprovals
// steps (GET, PATCH), cancelAll; types from microsoft-graph-types-beta.
test('Permissions Management: changes, requests, steps, decision, cancelAll', async () => {
  const since = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const made = await make('alex@contoso.com', example('permissions-request-aws-policy.json'));
  ok(made, 'ScheduledPermissionsRequest', BETA);
  const changes = await app.beta.api(`${EPM}/permissionsRequestChanges`)
    .filter(`modificationDateTime gt ${since}`).top(100).get();
  const ch = changes.value.find((x) => x.permissionsRequestId === made.id);
  assert.ok(ch, 'the new request has a change record');
  for (const x of changes.value) ok(x, 'PermissionsRequestChange', BETA);
  assert.equal(ch.statusDetail, 'submitted');
  const one = await app.beta.api(`${EPM}/scheduledPermissionsRequests`).filter(`id eq '${made.id}'`).get();
  assert.equal(one.value.length, 1);
  ok(one.value[0], 'ScheduledPermissionsRequest', BETA);
  const many = await app.beta.api(`${EPM}/scheduledPermissionsRequests`)
    .filter(`id eq '${made.id}' or id eq '00000000-0000-0000-0000-000000000000'`).top(2).get();
  assert.deepEqual(many.value.map((x) => x.id), [made.id]);
  const steps = await approver.beta.api(`${EPM}/scheduledPermissionsApprovals/${made.id}/steps`).get();
  assert.equal(steps.value.length, 1);
  ok(steps.value[0], 'ApprovalStep', BETA);
  assert.equal(steps.value[0].status, 'InProgress');
  const stepUrl = `${EPM}/scheduledPermissionsApprovals/${made.id}/steps/${steps.value[0].id}`;
  await assert.rejects(app.beta.api(stepUrl).patch({ reviewResult: 'Approve', justification: 'app' }),
    (e) => e instanceof GraphError && e.statusCode === 403);
  const r = await raw(approver.beta.api(stepUrl), 'patch', { reviewResult: 'Approve', justification: 'ok' });
  assert.equal(r.status, 204);
  const decided = (await approver.beta.api(`${EPM}/scheduledPermissionsApprovals/${made.id}/steps`).get()).value[0];
  ok(decided, 'ApprovalStep', BETA);
  assert.equal(decided.reviewResult, 'Approved');
  await assert.rejects(approver.beta.api(stepUrl).patch({ reviewResult: 'Deny', justification: 'again' }),
    (e) => e instanceof GraphError && e.statusCode === 409);
  // cancelAll of the approved request with approvald's delegated token
  sent = [];
  const c = await raw(approver.beta.api(`${EPM}/scheduledPermissionsRequests/${made.id}/cancelAll`), 'post');
  assert.equal(c.status, 204);
  assert.equal(sent[0].body, undefined);
  assert.doesNotMatch(sent[0].headers.get('content-type') || '', /form/);
  const later = await app.beta.api(`${EPM}/permissionsRequestChanges`)
    .filter(`modificationDateTime gt ${since}`).top(100).get();
  const mine = later.value.filter((x) => x.permissionsRequestId === made.id);
  for (const x of mine) ok(x, 'PermissionsRequestChange', BETA);
  assert.deepEqual(mine.map((x) => x.statusDetail), ['submitted', 'approved', 'canceled']);
  const gone = await app.beta.api(`${EPM}/scheduledPermissionsRequests`).filter(`id eq '${made.id}'`).get();
  ok(gone.value[0], 'ScheduledPermissionsRequest', BETA);
  assert.equal(gone.value[0].statusDetail, 'canceled');
});

// https://learn.microsoft.com/graph/api/entitlementmanagement-list-assignmentrequests,
// accesspackageassignmentrequest-get, approval-list-stages, approvalstage-update,
// accesspackageassignmentrequest-cancel
test('entitlement management: requests, approval stages, decision, cancel', async () => {
  const body = { requestType: 'userAdd', justification: 'conformance',
    assignment: { accessPackageId: FINANCE } };
  const made = await make('alex@contoso.com', body, 'access-package');
  // as approvald asks (daemon/sources/src_access.c): the assignment's target is
  // a navigation property of v1.0's accessPackageAssignment
  const expand = 'accessPackage,requestor,assignment($expand=target)';
  const list = await app.v1.api(`${EM}/assignmentRequests`).filter("state eq 'pendingApproval'")
    .expand(expand).get();
  const req = list.value.find((r) => r.id === made.id);
  assert.ok(req, 'listed as pending');
  assert.equal(req.state, 'pendingApproval');
  const one = await app.v1.api(`${EM}/assignmentRequests/${made.id}`).expand(expand).get();
  for (const o of [req, one]) {
    ok(o, 'AccessPackageAssignmentRequest');
    assert.equal(o.assignment.target.objectId, o.requestor.objectId, 'a request for oneself');
  }
  const appr = await approver.v1.api(`${EM}/accessPackageAssignmentApprovals/${made.id}`).get();
  ok(appr, 'Approval');
  const stages = await approver.v1.api(`${EM}/accessPackageAssignmentApprovals/${made.id}/stages`).get();
  assert.equal(stages.value.length, 1);
  ok(stages.value[0], 'ApprovalStage');
  assert.equal(stages.value[0].assignedToMe, true);
  const stageUrl = `${EM}/accessPackageAssignmentApprovals/${made.id}/stages/${stages.value[0].id}`;
  const r = await raw(approver.v1.api(stageUrl), 'patch', { reviewResult: 'Approve', justification: 'ok' });
  assert.equal(r.status, 204);
  const decided = (await approver.v1.api(`${EM}/accessPackageAssignmentApprovals/${made.id}/stages`).get()).value[0];
  ok(decided, 'ApprovalStage');
  assert.equal(decided.reviewResult, 'Approved');
  await assert.rejects(approver.v1.api(stageUrl).patch({ reviewResult: 'Deny', justification: 'again' }),
    (e) => e instanceof GraphError && e.statusCode === 409);
  const after = await app.v1.api(`${EM}/assignmentRequests/${made.id}`).get();
  ok(after, 'AccessPackageAssignmentRequest');
  assert.ok(['delivering', 'delivered'].includes(after.state), after.state);

  // cancel (delegated: the requestor) of a second pending request
  const other = await make('alex@contoso.com', { ...body, justification: 'to cancel' }, 'access-package');
  sent = [];
  const c = await raw(alex.v1.api(`${EM}/assignmentRequests/${other.id}/cancel`), 'post');
  assert.equal(c.status, 204);
  assert.equal(sent[0].body, undefined);
  assert.doesNotMatch(sent[0].headers.get('content-type') || '', /form/);
  const canceled = await app.v1.api(`${EM}/assignmentRequests/${other.id}`).get();
  ok(canceled, 'AccessPackageAssignmentRequest');
  assert.equal(canceled.state, 'canceled');
});

// The expanded assignment of an access package request, against v1.0's
// accessPackageAssignment (id, expiredDateTime, schedule, state, status;
// https://learn.microsoft.com/graph/api/resources/accesspackageassignment).
// Its target only with $expand=assignment($expand=target)
// (accesspackageassignmentrequest-get); beta's targetId and friends never.
test('entitlement management: expanded assignment is a v1.0 accessPackageAssignment', async () => {
  const made = await make('alex@contoso.com', { requestType: 'userAdd',
    assignment: { accessPackageId: FINANCE } }, 'access-package');
  const one = await app.v1.api(`${EM}/assignmentRequests/${made.id}`).expand('assignment').get();
  ok(one, 'AccessPackageAssignmentRequest');
  assert.equal(one.assignment.target, undefined);
  assert.equal(one.assignment.targetId, undefined);
  const deep = await app.v1.api(`${EM}/assignmentRequests/${made.id}`)
    .expand('assignment($expand=target)').get();
  ok(deep, 'AccessPackageAssignmentRequest');
  assert.equal(typeof deep.assignment.target.objectId, 'string');
  await assert.rejects(app.v1.api(`${EM}/assignmentRequests/${made.id}`)
    .expand('assignment($expand=accessPackage)').get(),
  (e) => e instanceof GraphError && e.statusCode === 400);
});

// https://learn.microsoft.com/graph/api/subscription-post-subscriptions
// (validation handshake: the endpoint echoes validationToken as text/plain
// within 10 s), subscription-update (renew), subscription-delete (204),
// subscription-list.
test('subscriptions: create with validation, list, renew, delete', async () => {
  const tokens = [];
  let notified;
  const note = new Promise((res) => { notified = res; });
  const hook = http.createServer((rq, rs) => {
    const t = new URL(rq.url, 'http://x').searchParams.get('validationToken');
    let body = '';
    rq.on('data', (d) => { body += d; });
    rq.on('end', () => {
      if (t !== null) tokens.push(t);
      else notified(JSON.parse(body));
      rs.writeHead(t !== null ? 200 : 202, { 'content-type': 'text/plain' });
      rs.end(t ?? '');
    });
  });
  await new Promise((res) => hook.listen(0, '127.0.0.1', res));
  try {
    const url = `http://127.0.0.1:${hook.address().port}/v1/hooks/graph`;
    const exp = new Date(Date.now() + 3 * 86400e3).toISOString();
    const s = await app.v1.api('/subscriptions').post({ changeType: 'updated', notificationUrl: url,
      lifecycleNotificationUrl: url, resource: `groups/${SECOPS}`, expirationDateTime: exp,
      clientState: 'conformance-secret' });
    ok(s, 'Subscription');
    assert.equal(s.resource, `groups/${SECOPS}`);
    assert.equal(s.clientState, 'conformance-secret');
    assert.ok(tokens.length >= 1 && tokens.every((t) => t.startsWith('Validation:')), JSON.stringify(tokens));
    const list = await app.v1.api('/subscriptions').get();
    for (const x of list.value) ok(x, 'Subscription');
    assert.ok(list.value.some((x) => x.id === s.id));
    // a membership change is notified as a changeNotificationCollection
    // (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks);
    // resourceData is open (its properties depend on the resource)
    const JORDAN = '46184453-e63b-4f20-86c2-c557ed5d5df9';
    const del = await raw(app.v1.api(`/groups/${SECOPS}/members/${JORDAN}/$ref`), 'delete');
    assert.equal(del.status, 204);
    const n = await note;
    const { value, ...top } = n;
    ok(top, 'ChangeNotificationCollection');
    assert.equal(value.length, 1);
    const { resourceData, ...one } = value[0];
    ok(one, 'ChangeNotification');
    assert.equal(one.subscriptionId, s.id);
    assert.equal(one.clientState, 'conformance-secret');
    assert.equal(resourceData.id, SECOPS);
    const later = new Date(Date.now() + 4 * 86400e3).toISOString();
    const renewed = await app.v1.api(`/subscriptions/${s.id}`).patch({ expirationDateTime: later });
    ok(renewed, 'Subscription');
    assert.equal(Date.parse(renewed.expirationDateTime), Date.parse(later));
    const d = await raw(app.v1.api(`/subscriptions/${s.id}`), 'delete');
    assert.equal(d.status, 204);
    await assert.rejects(app.v1.api(`/subscriptions/${s.id}`).get(),
      (e) => e instanceof GraphError && e.statusCode === 404);
    // no endpoint answering the handshake: 400, nothing made
    await assert.rejects(app.v1.api('/subscriptions').post({ changeType: 'updated',
      notificationUrl: 'http://127.0.0.1:9/none', resource: `groups/${SECOPS}`, expirationDateTime: exp }),
    (e) => e instanceof GraphError && e.statusCode === 400);
  } finally {
    hook.close();
  }
});
