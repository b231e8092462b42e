// A local AWS Step Functions API (awsJson1_0) over the npm package aws-local-stepfunctions.
//
// Operations: CreateStateMachine, DescribeStateMachine, UpdateStateMachine, DeleteStateMachine,
// ListStateMachines, StartExecution, DescribeExecution, StopExecution, ListExecutions (of a state
// machine or of a Map Run), GetExecutionHistory, ListMapRuns, DescribeMapRun.
//
// Distributed Map states run as AWS runs them (distributed.js): items read from S3 as the state
// machine's role, batched, each batch a child execution; a definition with a Map field the
// emulation does not execute is refused. Payloads over 256 KB fail the execution with
// States.DataLimitExceeded (limits.js).
//
// Every Lambda Task (a plain function ARN or arn:aws:states:::lambda:invoke) is sent to the Lambda
// Invoke API at AWS_ENDPOINT_URL_LAMBDA, so a function error surfaces as AWS reports it:
// Error = the function's errorType, Cause = the error payload JSON.
//
// It also plays the EventBridge rule "Step Functions Execution Status Change": when an execution
// ends ABORTED, FAILED or TIMED_OUT, every function named in SFN_STATUS_CHANGE_FUNCTIONS
// (comma-separated) is invoked asynchronously with the event AWS would deliver.
//
// Environment: PORT (0 = ephemeral), HOST (127.0.0.1), AWS_ENDPOINT_URL_LAMBDA, AWS_REGION,
// SFN_RETRY_MS / SFN_WAIT_MS (optional: replace every Retry interval / Wait duration, for fast tests),
// SFN_TEST_HOOKS=1 (tests only: the TestSetExecutionTimeout operation, below).
// It prints "sfn listening on HOST:PORT" once ready and exits when its stdin closes, so it never
// outlives the process that started it.
'use strict';
require('./polyfill');
const http = require('http');
const crypto = require('crypto');
const { StateMachine, ExecutionAbortedError, ExecutionTimeoutError } = require('aws-local-stepfunctions');
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');
const { rewrite, runMap, MAP_TASK_RESOURCE } = require('./distributed');
const { checkPayload, DataLimitError } = require('./limits');
const { readObject, authorize } = require('./roleio');

const REGION = process.env.AWS_REGION || 'us-east-1';
const ACCOUNT = process.env.SFN_ACCOUNT || '123456789012';
// Each target is "fn" (every state machine's executions) or "machine=fn"
// (one state machine's, as a deployed rule filters on stateMachineArn).
const STATUS_TARGETS = (process.env.SFN_STATUS_CHANGE_FUNCTIONS || '').split(',').filter(Boolean)
  .map((t) => (t.includes('=') ? { machine: t.split('=')[0], fn: t.split('=')[1] } : { machine: null, fn: t }));
const EVENT_STATUSES = new Set(['ABORTED', 'FAILED', 'TIMED_OUT']);
const lambda = new LambdaClient({ region: REGION, maxAttempts: 1 });
// With SFN_ROLE_KEY_PREFIX, a state machine calls Lambda as its role: the access key is the prefix
// and the role's name (the local stack's IAM maps it to the role's policies). The EventBridge rules
// call as their service principal, with SFN_EVENTS_ACCESS_KEY.
const clientAs = (accessKeyId) => new LambdaClient({
  region: REGION, maxAttempts: 1,
  credentials: { accessKeyId, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || 'local' },
});
const roleClients = new Map();
function lambdaFor(roleArn) {
  const prefix = process.env.SFN_ROLE_KEY_PREFIX;
  if (!prefix || !roleArn) return lambda;
  if (!roleClients.has(roleArn)) roleClients.set(roleArn, clientAs(prefix + roleArn.split('/').pop()));
  return roleClients.get(roleArn);
}
const events = process.env.SFN_EVENTS_ACCESS_KEY ? clientAs(process.env.SFN_EVENTS_ACCESS_KEY) : lambda;
const machines = new Map(); // arn -> machine
const executions = new Map(); // arn -> execution record (child executions of Map Runs too)
const mapRuns = new Map(); // arn -> Map Run record
const nowSeconds = () => Date.now() / 1000;

class ApiError extends Error {
  constructor(type, message) { super(message); this.type = type; }
}

// walk visits every state, including those inside Map and Parallel states.
function walk(def, fn) {
  for (const [name, st] of Object.entries(def.States || {})) {
    fn(name, st);
    const inner = st.ItemProcessor || st.Iterator;
    if (inner) walk(inner, fn);
    for (const b of st.Branches || []) walk(b, fn);
  }
}

async function invokeLambda(client, functionName, payload, qualifier) {
  let out;
  try {
    out = await client.send(new InvokeCommand({
      FunctionName: functionName, Qualifier: qualifier, Payload: Buffer.from(JSON.stringify(payload ?? {})),
    }));
  } catch (e) {
    const err = new Error(e.message);
    err.name = `Lambda.${e.name}`;
    throw err;
  }
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : 'null';
  if (out.FunctionError) {
    let type = out.FunctionError;
    try { type = JSON.parse(text).errorType || type; } catch (_) { /* keep FunctionError */ }
    const err = new Error(text);
    err.name = type;
    throw err;
  }
  return { out, payload: text === '' ? null : JSON.parse(text) };
}

// buildOverrides routes the Tasks of one execution of program: Lambda tasks to the Lambda
// endpoint, Distributed Maps (rewritten as Tasks) to the Map Run emulation. Every task's input
// and result are held to the payload quota.
function buildOverrides(m, program, rec) {
  const client = lambdaFor(m.roleArn);
  const taskResourceLocalHandlers = {};
  const retryIntervalOverrides = {};
  const waitTimeOverrides = {};
  const limited = (name, fn) => async (input) => {
    try {
      checkPayload('input', name, input);
      const out = await fn(input);
      checkPayload('output', name, out);
      return out;
    } catch (e) {
      if (e instanceof DataLimitError) failExecution(rec, e);
      throw e;
    }
  };
  walk(program.def, (name, st) => {
    if (st.Type === 'Wait' && process.env.SFN_WAIT_MS) waitTimeOverrides[name] = Number(process.env.SFN_WAIT_MS);
    if (st.Retry && process.env.SFN_RETRY_MS) retryIntervalOverrides[name] = Number(process.env.SFN_RETRY_MS);
    if (st.Type !== 'Task') return;
    const resource = st.Resource || '';
    if (resource.startsWith('arn:aws:lambda:')) {
      taskResourceLocalHandlers[name] = limited(name, async (input) => (await invokeLambda(client, resource, input)).payload);
    } else if (resource === 'arn:aws:states:::lambda:invoke') {
      taskResourceLocalHandlers[name] = limited(name, async (input) => {
        const { out, payload } = await invokeLambda(client, input.FunctionName, input.Payload, input.Qualifier);
        const status = out.StatusCode || 200;
        return {
          ExecutedVersion: out.ExecutedVersion || '$LATEST', Payload: payload, StatusCode: status,
          SdkHttpMetadata: { HttpStatusCode: status }, SdkResponseMetadata: { RequestId: out.$metadata.requestId || '' },
        };
      });
    } else if (resource === MAP_TASK_RESOURCE) {
      taskResourceLocalHandlers[name] = limited(name, (input) => runMapRun(m, program.maps.get(name), name, rec, input));
    }
  });
  return { taskResourceLocalHandlers, retryIntervalOverrides, waitTimeOverrides };
}

// failExecution ends an execution at once with an error no Catch may handle
// (States.DataLimitExceeded).
function failExecution(rec, err) {
  finish(rec, { status: 'FAILED', error: err.name, cause: err.message });
  if (rec.abort) rec.abort();
  stopChildren(rec);
}

// program compiles a rewritten definition and its Distributed Maps' children.
function program(rewritten) {
  const sm = new StateMachine(rewritten.def, { validationOptions: { noValidate: true } });
  const maps = new Map();
  for (const [name, spec] of rewritten.maps) maps.set(name, { spec, program: program(spec.child) });
  return { sm, def: rewritten.def, maps };
}

// runMapRun is one Distributed Map state of execution rec: a Map Run record, and a child
// execution (recorded like any other, under <machine>/<label>) per item or batch.
async function runMapRun(m, map, name, rec, input) {
  const label = map.spec.Label || name;
  const id = crypto.randomUUID();
  const run = {
    mapRunArn: `arn:aws:states:${REGION}:${ACCOUNT}:mapRun:${m.name}/${label}:${id}`,
    executionArn: rec.executionArn, stateMachineArn: m.arn, status: 'RUNNING', startDate: nowSeconds(),
    children: [],
  };
  mapRuns.set(run.mapRunArn, run);
  rec.mapRuns.push(run);
  const childMachine = { ...m, name: `${m.name}/${label}`, arn: `${m.arn}/${label}` };
  const io = {
    readObject: (bucket, key) => readObject(m.roleArn, bucket, key),
    authorize: (action, resource = m.arn) => authorize(m.roleArn, action, resource),
    stopped: () => rec.status !== 'RUNNING',
    startChild: (childInput) => {
      const childName = crypto.randomUUID();
      const child = startExecution(childMachine, childName, JSON.stringify(childInput), { program: map.program, mapRunArn: run.mapRunArn });
      run.children.push(child);
      return {
        arn: child.executionArn,
        result: child.done,
        abort: () => abortExecution(child),
      };
    },
  };
  try {
    const out = await runMap(name, map.spec, input, rec.context, io);
    run.status = 'SUCCEEDED';
    return out;
  } catch (e) {
    run.status = rec.status === 'ABORTED' ? 'ABORTED' : 'FAILED';
    throw e;
  } finally {
    run.stopDate = nowSeconds();
  }
}

// abortExecution stops a running execution and its Map Runs' children.
function abortExecution(rec) {
  if (rec.status !== 'RUNNING') return;
  finish(rec, { status: 'ABORTED' });
  rec.abort();
  stopChildren(rec);
}

// stopChildren aborts the running child executions of an execution's Map Runs.
function stopChildren(rec) {
  for (const run of rec.mapRuns || []) run.children.forEach(abortExecution);
}

function compile(definition) {
  let def;
  try { def = JSON.parse(definition); } catch (e) {
    throw new ApiError('InvalidDefinition', `Invalid State Machine Definition: ${e.message}`);
  }
  try {
    // Validate the definition as written, then run it with the Distributed Maps rewritten.
    const rewritten = rewrite(JSON.parse(definition)); // before the validator adds its own fields to def
    new StateMachine(def, { validationOptions: { checkArn: true, checkPaths: true } }); // eslint-disable-line no-new
    return { program: program(rewritten) };
  } catch (e) {
    throw new ApiError('InvalidDefinition', `Invalid State Machine Definition: ${e.message}`);
  }
}

function getMachine(arn) {
  const m = machines.get(arn);
  if (!m) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  return m;
}

function getMapRun(arn) {
  const r = mapRuns.get(arn);
  if (!r) throw new ApiError('ResourceNotFound', `Map Run Does Not Exist: '${arn}'`);
  return r;
}

function getExecution(arn) {
  const e = executions.get(arn);
  if (!e) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
  return e;
}

function historyType(ev) {
  const t = ev.state && ev.state.type;
  switch (ev.type) {
    case 'StateEntered': return `${t}StateEntered`;
    case 'StateExited': return `${t}StateExited`;
    case 'StateFailed': return t === 'Task' ? 'TaskFailed' : `${t}StateFailed`;
    case 'StateRetried': return 'TaskStateRetried'; // no AWS equivalent: AWS re-schedules the task
    case 'StateCaught': return 'TaskStateCaught'; // no AWS equivalent
    case 'ExecutionTimeout': return 'ExecutionTimedOut';
    default: return ev.type;
  }
}

function publishStatusChange(rec) {
  // A Map Run's children are executions of <machine>/<label>, which no rule names.
  if (!EVENT_STATUSES.has(rec.status) || rec.mapRunArn) return;
  const event = {
    version: '0', id: crypto.randomUUID(), 'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states', account: ACCOUNT, time: new Date().toISOString(), region: REGION,
    resources: [rec.executionArn],
    detail: {
      executionArn: rec.executionArn, stateMachineArn: rec.stateMachineArn, name: rec.name, status: rec.status,
      startDate: Math.round(rec.startDate * 1000), stopDate: Math.round(rec.stopDate * 1000),
      input: rec.input, output: null, error: rec.error || null, cause: rec.cause || null,
    },
  };
  const machine = rec.stateMachineArn.split(':').pop();
  for (const { machine: only, fn } of STATUS_TARGETS) {
    if (only && only !== machine) continue;
    events.send(new InvokeCommand({ FunctionName: fn, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }))
      .catch((e) => console.error(`status-change target ${fn}: ${e.message}`));
  }
}

function finish(rec, fields) {
  if (rec.status !== 'RUNNING') return;
  Object.assign(rec, fields, { stopDate: nowSeconds() });
  publishStatusChange(rec);
}

// startExecution runs an execution of machine m (or, for a Map Run's child, of one
// Distributed Map's item processor: opts.program, opts.mapRunArn). rec.done settles with the
// execution: its output, or an error carrying Error and Cause.
function startExecution(m, name, input, opts = {}) {
  const arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${m.name}:${name}`;
  const rec = {
    executionArn: arn, stateMachineArn: m.arn, name, status: 'RUNNING', startDate: nowSeconds(), input, history: [],
    mapRunArn: opts.mapRunArn, mapRuns: [],
  };
  executions.set(arn, rec);
  rec.context = {
    Execution: { Id: arn, Name: name, Input: JSON.parse(input), StartTime: new Date().toISOString(), RoleArn: m.roleArn },
    StateMachine: { Id: m.arn, Name: m.name },
  };
  const prog = opts.program || m.program;
  const run = prog.sm.run(JSON.parse(input), { overrides: buildOverrides(m, prog, rec), context: rec.context });
  rec.abort = run.abort;
  armTestTimeout(rec);
  (async () => {
    for await (const ev of run.eventLogs) {
      const h = { id: rec.history.length + 1, previousEventId: rec.history.length, timestamp: ev.timestamp / 1000, type: historyType(ev) };
      if (ev.state) {
        const details = { name: ev.state.name, input: JSON.stringify(ev.state.input) };
        if (ev.state.output !== undefined) details.output = JSON.stringify(ev.state.output);
        h[ev.type === 'StateExited' ? 'stateExitedEventDetails' : 'stateEnteredEventDetails'] = details;
        // Every state's input and output are held to the quota, not only tasks'.
        try {
          checkPayload('input', ev.state.name, ev.state.input);
          if (ev.state.output !== undefined) checkPayload('output', ev.state.name, ev.state.output);
        } catch (e) {
          failExecution(rec, e);
        }
      }
      if (ev.Error) h.taskFailedEventDetails = { error: ev.Error, cause: typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause) };
      rec.history.push(h);
    }
  })().catch(() => {});
  rec.done = run.result.then(
    (out) => {
      finish(rec, { status: 'SUCCEEDED', output: JSON.stringify(out) });
      if (rec.status !== 'SUCCEEDED') throw Object.assign(new Error(rec.cause || ''), { name: rec.error || rec.status });
      return out;
    },
    (err) => {
      if (err instanceof ExecutionAbortedError) finish(rec, { status: 'ABORTED' });
      else if (err instanceof ExecutionTimeoutError) finish(rec, { status: 'TIMED_OUT', error: 'States.Timeout' });
      else {
        const c = err.cause || err;
        finish(rec, { status: 'FAILED', error: c.name, cause: c.message });
      }
      stopChildren(rec); // a timed-out execution's Map Runs stop with it
      throw Object.assign(new Error(rec.cause || ''), { name: rec.error || rec.status });
    },
  );
  rec.done.catch(() => {});
  return rec;
}

// Test-only (SFN_TEST_HOOKS=1): TestSetExecutionTimeout {"name", "timeoutSeconds"} times the
// execution of that name out (TIMED_OUT, States.Timeout) that many seconds from now if it is
// running, else from its start, instead of its state machine's TimeoutSeconds: a test can time one
// execution out at a chosen step without a week-long wait or a second definition.
const testTimeouts = new Map(); // execution name -> seconds
function armTestTimeout(rec, seconds = testTimeouts.get(rec.name)) {
  if (seconds === undefined) return;
  testTimeouts.delete(rec.name);
  setTimeout(() => {
    if (rec.status !== 'RUNNING') return;
    finish(rec, { status: 'TIMED_OUT', error: 'States.Timeout' });
    rec.abort();
  }, seconds * 1000).unref();
}

const pick = (o, keys) => Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
const EXECUTION_FIELDS = ['executionArn', 'stateMachineArn', 'name', 'status', 'startDate', 'stopDate', 'input', 'output', 'error', 'cause', 'mapRunArn'];

function page(list, p, defaultMax) {
  const start = Number(p.nextToken || 0);
  const max = p.maxResults || defaultMax;
  return { items: list.slice(start, start + max), nextToken: start + max < list.length ? String(start + max) : undefined };
}

const api = {
  CreateStateMachine(p) {
    const arn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${p.name}`;
    const old = machines.get(arn);
    if (old) {
      if (old.definition === p.definition && old.roleArn === p.roleArn) return { stateMachineArn: arn, creationDate: old.created };
      throw new ApiError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const m = { name: p.name, arn, definition: p.definition, roleArn: p.roleArn, type: p.type || 'STANDARD', created: nowSeconds(), ...compile(p.definition) };
    machines.set(arn, m);
    return { stateMachineArn: arn, creationDate: m.created };
  },
  DescribeStateMachine(p) {
    const m = getMachine(p.stateMachineArn);
    return { stateMachineArn: m.arn, name: m.name, status: 'ACTIVE', definition: m.definition, roleArn: m.roleArn, type: m.type, creationDate: m.created };
  },
  UpdateStateMachine(p) {
    const m = getMachine(p.stateMachineArn);
    if (p.definition) Object.assign(m, compile(p.definition), { definition: p.definition });
    if (p.roleArn) m.roleArn = p.roleArn;
    return { updateDate: nowSeconds() };
  },
  DeleteStateMachine(p) { machines.delete(p.stateMachineArn); return {}; },
  ListStateMachines(p) {
    const { items, nextToken } = page([...machines.values()], p, 100);
    return { stateMachines: items.map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type, creationDate: m.created })), nextToken };
  },
  StartExecution(p) {
    const m = getMachine(p.stateMachineArn);
    const name = p.name || crypto.randomUUID();
    const input = p.input === undefined ? '{}' : p.input;
    try { JSON.parse(input); } catch (e) { throw new ApiError('InvalidExecutionInput', e.message); }
    const arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${m.name}:${name}`;
    const old = executions.get(arn);
    if (old) {
      // AWS: same name and input while RUNNING is idempotent; anything else is a conflict.
      if (old.status === 'RUNNING' && old.input === input) return { executionArn: arn, startDate: old.startDate };
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const rec = startExecution(m, name, input);
    return { executionArn: rec.executionArn, startDate: rec.startDate };
  },
  DescribeExecution(p) { return pick(getExecution(p.executionArn), EXECUTION_FIELDS); },
  StopExecution(p) {
    const e = getExecution(p.executionArn);
    if (e.status === 'RUNNING') {
      finish(e, { status: 'ABORTED', error: p.error, cause: p.cause });
      e.abort();
      stopChildren(e); // as AWS stops a stopped execution's Map Runs
    }
    return { stopDate: e.stopDate };
  },
  ListExecutions(p) {
    if (p.mapRunArn) getMapRun(p.mapRunArn);
    else getMachine(p.stateMachineArn);
    const list = [...executions.values()]
      .filter((e) => (p.mapRunArn ? e.mapRunArn === p.mapRunArn : e.stateMachineArn === p.stateMachineArn && !e.mapRunArn))
      .filter((e) => !p.statusFilter || e.status === p.statusFilter)
      .sort((a, b) => b.startDate - a.startDate);
    const { items, nextToken } = page(list, p, 100);
    return { executions: items.map((e) => pick(e, ['executionArn', 'stateMachineArn', 'name', 'status', 'startDate', 'stopDate'])), nextToken };
  },
  ListMapRuns(p) {
    const { items, nextToken } = page(getExecution(p.executionArn).mapRuns, p, 100);
    return { mapRuns: items.map((r) => pick(r, ['executionArn', 'mapRunArn', 'stateMachineArn', 'startDate', 'stopDate'])), nextToken };
  },
  DescribeMapRun(p) {
    const r = getMapRun(p.mapRunArn);
    const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, timedOut: 0, aborted: 0, total: r.children.length, resultsWritten: 0 };
    const key = { RUNNING: 'running', SUCCEEDED: 'succeeded', FAILED: 'failed', TIMED_OUT: 'timedOut', ABORTED: 'aborted' };
    for (const c of r.children) counts[key[c.status]]++;
    return {
      ...pick(r, ['mapRunArn', 'executionArn', 'status', 'startDate', 'stopDate']),
      toleratedFailurePercentage: 0, toleratedFailureCount: 0,
      itemCounts: counts, executionCounts: counts,
    };
  },
  GetExecutionHistory(p) {
    const events = [...getExecution(p.executionArn).history];
    if (p.reverseOrder) events.reverse();
    const { items, nextToken } = page(events, p, 1000);
    return { events: items, nextToken };
  },
};

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const op = String(req.headers['x-amz-target'] || '').replace(/^AWSStepFunctions\./, '');
    const send = (code, obj) => {
      res.writeHead(code, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': crypto.randomUUID() });
      res.end(JSON.stringify(obj));
    };
    if (op === 'TestSetExecutionTimeout' && process.env.SFN_TEST_HOOKS === '1') {
      const p = JSON.parse(body || '{}');
      const running = [...executions.values()].find((e) => e.name === p.name && e.status === 'RUNNING');
      if (running) armTestTimeout(running, Number(p.timeoutSeconds));
      else testTimeouts.set(p.name, Number(p.timeoutSeconds));
      return send(200, {});
    }
    if (!Object.hasOwn(api, op)) return send(400, { __type: 'UnknownOperationException', message: `Unsupported operation ${op}` });
    try {
      send(200, api[op](body ? JSON.parse(body) : {}));
    } catch (e) {
      send(e.type ? 400 : 500, { __type: e.type || 'InternalFailure', message: e.message });
    }
  });
});

server.listen(Number(process.env.PORT || 0), process.env.HOST || '127.0.0.1', () => {
  const a = server.address();
  console.log(`sfn listening on ${a.address}:${a.port}`);
});
// The parent holds our stdin; when it exits (even by SIGKILL) stdin closes and so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
