// The Distributed Map, which aws-local-stepfunctions parses but runs as an inline Map (it ignores
// ItemReader, ItemBatcher and the child executions). rewrite() replaces each Distributed Map
// state with a Task of the same InputPath, ResultSelector, ResultPath, OutputPath, Retry, Catch
// and transitions (so the interpreter still applies those), whose local handler is runMap():
// it reads the items from S3, selects and batches them, and runs each batch as a child execution
// of its own (the server records it like any execution), at most MaxConcurrency at once.
//
// Only what is implemented is accepted: any other Map field, reader, input type or processor
// setting makes rewrite() throw, so the server refuses the definition instead of silently
// running something else than AWS would.
'use strict';
const { JSONPath } = require('jsonpath-plus');
const { byteSize, PAYLOAD_LIMIT } = require('./limits');

const MAP_TASK_RESOURCE = 'arn:aws:states:::local:distributedMap';
// AWS's ceiling on a Distributed Map's concurrent child executions (MaxConcurrency 0 = this).
const MAX_CHILDREN = 10000;
const THRESHOLD_ERROR = 'States.ExceedToleratedFailureThreshold';
const THRESHOLD_CAUSE = 'The specified tolerated failure threshold was exceeded';

// The fields each part of a Distributed Map may have here.
const DISTRIBUTED_FIELDS = new Set(['Type', 'Comment', 'InputPath', 'OutputPath', 'ResultPath', 'ResultSelector',
  'Retry', 'Catch', 'Next', 'End', 'ItemReader', 'ItemsPath', 'ItemSelector', 'ItemBatcher', 'MaxConcurrency',
  'MaxConcurrencyPath', 'ItemProcessor', 'Label']);
const READER_FIELDS = new Set(['Resource', 'ReaderConfig', 'Parameters']);
const READER_CONFIG_FIELDS = new Set(['InputType']);
const BATCHER_FIELDS = new Set(['MaxItemsPerBatch', 'MaxItemsPerBatchPath', 'BatchInput']);
const PROCESSOR_FIELDS = new Set(['ProcessorConfig', 'StartAt', 'States', 'Comment']);
// Fields that only a Distributed Map has: an inline Map carrying one is refused too.
const DISTRIBUTED_ONLY = ['ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath', 'ToleratedFailureCount', 'ToleratedFailureCountPath', 'Label'];
// The Task fields carried over from the Map.
const CARRIED = ['Comment', 'InputPath', 'OutputPath', 'ResultPath', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End'];

class StatesError extends Error {
  constructor(name, message) { super(message); this.name = name; }
}

function unsupported(state, what) {
  return new Error(`state ${state}: ${what} is not executed by the local Step Functions server (localstack/sfn/distributed.js)`);
}

function onlyFields(state, where, obj, allowed) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw unsupported(state, `${where} that is not an object`);
  for (const k of Object.keys(obj)) if (!allowed.has(k)) throw unsupported(state, `${where}.${k}`);
}

// checkTemplate refuses intrinsic functions in a payload template: only paths are evaluated here.
function checkTemplate(state, where, tpl) {
  if (tpl === null || typeof tpl !== 'object') return;
  for (const [k, v] of Object.entries(tpl)) {
    if (k.endsWith('.$') && (typeof v !== 'string' || !v.startsWith('$'))) throw unsupported(state, `${where}.${k} (an intrinsic function)`);
    checkTemplate(state, `${where}.${k}`, v);
  }
}

function isDistributed(st) {
  return st.Type === 'Map' && st.ItemProcessor && st.ItemProcessor.ProcessorConfig
    && st.ItemProcessor.ProcessorConfig.Mode === 'DISTRIBUTED';
}

function checkDistributed(name, st) {
  onlyFields(name, 'Map', st, DISTRIBUTED_FIELDS);
  const proc = st.ItemProcessor;
  onlyFields(name, 'ItemProcessor', proc, PROCESSOR_FIELDS);
  const cfg = proc.ProcessorConfig;
  onlyFields(name, 'ItemProcessor.ProcessorConfig', cfg, new Set(['Mode', 'ExecutionType']));
  if (cfg.ExecutionType !== 'STANDARD') throw unsupported(name, `ExecutionType ${cfg.ExecutionType} (only STANDARD children)`);
  if (st.ItemReader) {
    if (st.ItemsPath !== undefined) throw new Error(`state ${name}: ItemReader and ItemsPath are exclusive`);
    const r = st.ItemReader;
    onlyFields(name, 'ItemReader', r, READER_FIELDS);
    if (r.Resource !== 'arn:aws:states:::s3:getObject') throw unsupported(name, `ItemReader.Resource ${r.Resource}`);
    onlyFields(name, 'ItemReader.ReaderConfig', r.ReaderConfig || {}, READER_CONFIG_FIELDS);
    if (!r.ReaderConfig || r.ReaderConfig.InputType !== 'JSON') throw unsupported(name, 'an ItemReader whose InputType is not JSON');
    onlyFields(name, 'ItemReader.Parameters', r.Parameters || {}, new Set(['Bucket', 'Bucket.$', 'Key', 'Key.$']));
    checkTemplate(name, 'ItemReader.Parameters', r.Parameters);
  }
  if (st.ItemBatcher) {
    onlyFields(name, 'ItemBatcher', st.ItemBatcher, BATCHER_FIELDS);
    const b = st.ItemBatcher;
    if ((b.MaxItemsPerBatch === undefined) === (b.MaxItemsPerBatchPath === undefined)) {
      throw unsupported(name, 'an ItemBatcher without exactly one of MaxItemsPerBatch and MaxItemsPerBatchPath');
    }
    checkTemplate(name, 'ItemBatcher.BatchInput', b.BatchInput);
  }
  checkTemplate(name, 'ItemSelector', st.ItemSelector);
  if (st.MaxConcurrency !== undefined && st.MaxConcurrencyPath !== undefined) throw new Error(`state ${name}: MaxConcurrency and MaxConcurrencyPath are exclusive`);
}

// rewrite returns a copy of the definition with each Distributed Map replaced by a Task, and
// the Distributed Maps by state name (their children's definitions rewritten too). It throws
// on anything the emulation does not execute.
function rewrite(def) {
  const maps = new Map();
  const visit = (states) => {
    const out = {};
    for (const [name, st] of Object.entries(states || {})) {
      if (isDistributed(st)) {
        checkDistributed(name, st);
        if (maps.has(name)) throw new Error(`state ${name}: Distributed Map names must be unique`);
        const child = rewrite({ StartAt: st.ItemProcessor.StartAt, States: st.ItemProcessor.States });
        maps.set(name, { ...st, child });
        // No timeout of its own (the interpreter's default is 60 s); setTimeout's ceiling is ~24.8 days.
        const task = { Type: 'Task', Resource: MAP_TASK_RESOURCE, TimeoutSeconds: 2000000 };
        for (const k of CARRIED) if (st[k] !== undefined) task[k] = st[k];
        out[name] = task;
        continue;
      }
      const copy = { ...st };
      if (st.Type === 'Map') {
        for (const k of DISTRIBUTED_ONLY) if (st[k] !== undefined) throw unsupported(name, `${k} on an inline Map`);
        const inner = st.ItemProcessor || st.Iterator;
        if (inner) {
          const cfg = inner.ProcessorConfig;
          if (cfg && cfg.Mode && cfg.Mode !== 'INLINE') throw unsupported(name, `ProcessorConfig.Mode ${cfg.Mode}`);
          const key = st.ItemProcessor ? 'ItemProcessor' : 'Iterator';
          copy[key] = { ...inner, States: visit(inner.States) };
        }
      }
      if (st.Branches) copy.Branches = st.Branches.map((b) => ({ ...b, States: visit(b.States) }));
      out[name] = copy;
    }
    return out;
  };
  const States = visit(def.States);
  return { def: { ...def, States }, maps };
}

// query evaluates a JSONPath: "$$…" on the context object, "$…" on the input.
function query(path, input, context) {
  const [json, p] = path.startsWith('$$') ? [context, path.slice(1)] : [input, path];
  if (p === '$') return json;
  const found = JSONPath({ path: p, json, wrap: true });
  if (!found.length) throw new StatesError('States.Runtime', `The JSONPath '${path}' could not be found in the input`);
  return JSONPath({ path: p, json, wrap: false });
}

// template evaluates a payload template (Parameters, ItemSelector, BatchInput).
function template(tpl, input, context) {
  if (Array.isArray(tpl)) return tpl.map((v) => template(v, input, context));
  if (tpl === null || typeof tpl !== 'object') return tpl;
  const out = {};
  for (const [k, v] of Object.entries(tpl)) {
    if (k.endsWith('.$')) out[k.slice(0, -2)] = query(v, input, context);
    else out[k] = template(v, input, context);
  }
  return out;
}

function positiveInt(state, what, v) {
  if (!Number.isInteger(v) || v < 0) throw new StatesError('States.Runtime', `state ${state}: ${what} is ${JSON.stringify(v)}, not a non-negative integer`);
  return v;
}

// childInputs reads, selects and batches the items: the input of each child execution.
async function childInputs(name, spec, input, context, io) {
  let items;
  if (spec.ItemReader) {
    const p = template(spec.ItemReader.Parameters || {}, input, context);
    let text;
    try {
      text = await io.readObject(p.Bucket, p.Key);
    } catch (e) {
      throw new StatesError('States.ItemReaderFailed', `reading s3://${p.Bucket}/${p.Key}: ${e.message}`);
    }
    try { items = JSON.parse(text); } catch (e) {
      throw new StatesError('States.ItemReaderFailed', `s3://${p.Bucket}/${p.Key} is not JSON: ${e.message}`);
    }
    if (!Array.isArray(items)) throw new StatesError('States.ItemReaderFailed', `s3://${p.Bucket}/${p.Key} does not hold a JSON array`);
  } else {
    items = query(spec.ItemsPath || '$', input, context);
    if (!Array.isArray(items)) throw new StatesError('States.Runtime', `state ${name}: ItemsPath does not point to an array`);
  }
  if (spec.ItemSelector) {
    items = items.map((value, index) => template(spec.ItemSelector, input, { ...context, Map: { Item: { Index: index, Value: value } } }));
  }
  const b = spec.ItemBatcher;
  if (!b) return items;
  const per = positiveInt(name, 'MaxItemsPerBatch', b.MaxItemsPerBatch ?? query(b.MaxItemsPerBatchPath, input, context)) || 1;
  const batchInput = b.BatchInput === undefined ? undefined : template(b.BatchInput, input, context);
  const out = [];
  for (let i = 0; i < items.length; i += per) {
    const batch = { Items: items.slice(i, i + per) };
    if (batchInput !== undefined) batch.BatchInput = batchInput;
    out.push(batch);
  }
  return out;
}

// runMap runs one Map Run and resolves to the children's outputs, in item order. io is the
// server's side: readObject(bucket, key) with the state machine role's credentials,
// authorize(action, resource = the state machine) against the role's policies, startChild(input) -> {arn, result,
// abort}, stopped() (the parent execution ended). A failed child stops the Map Run: the
// running ones are aborted, and the state fails with States.ExceedToleratedFailureThreshold
// (no tolerance is configured), as on AWS.
async function runMap(name, spec, input, context, io) {
  const inputs = await childInputs(name, spec, input, context, io);
  for (const [i, ci] of inputs.entries()) {
    if (byteSize(ci) > PAYLOAD_LIMIT) {
      throw new StatesError('States.DataLimitExceeded', `state ${name}: the input of child execution ${i} is ${byteSize(ci)} bytes, over ${PAYLOAD_LIMIT}`);
    }
  }
  let limit = spec.MaxConcurrency ?? (spec.MaxConcurrencyPath ? positiveInt(name, 'MaxConcurrencyPath', query(spec.MaxConcurrencyPath, input, context)) : 0);
  limit = Math.min(limit || MAX_CHILDREN, MAX_CHILDREN);
  const results = new Array(inputs.length);
  const running = new Set();
  let next = 0;
  let failure = null;
  await new Promise((resolve) => {
    const launch = () => {
      while (!failure && !io.stopped() && running.size < limit && next < inputs.length) {
        const i = next++;
        // A handle until the child exists: the role must be allowed to start it first.
        // Stopping a child is the role's StopExecution on it, as on AWS.
        const handle = {
          child: null,
          aborted: false,
          abort() {
            this.aborted = true;
            if (this.child) io.authorize('states:StopExecution', this.child.arn).then(() => this.child.abort(), () => {});
          },
        };
        running.add(handle);
        (async () => {
          await io.authorize('states:StartExecution');
          if (handle.aborted || failure || io.stopped()) throw new StatesError('States.Runtime', 'Map Run stopped');
          handle.child = io.startChild(inputs[i], i);
          // The Map Run reads each child's outcome with the role's DescribeExecution.
          const settled = await handle.child.result.then((out) => ({ out }), (err) => ({ err }));
          await io.authorize('states:DescribeExecution', handle.child.arn);
          if (settled.err) throw settled.err;
          return settled.out;
        })().then((out) => { results[i] = out; }, (err) => {
          if (!failure) {
            failure = handle.child ? new StatesError(THRESHOLD_ERROR, THRESHOLD_CAUSE) : err;
            if (handle.child) failure.child = { arn: handle.child.arn, error: err };
            for (const h of running) if (h !== handle) h.abort();
          }
        }).finally(() => { running.delete(handle); launch(); });
      }
      if (running.size === 0 && (failure || io.stopped() || next >= inputs.length)) resolve();
    };
    launch();
  });
  if (failure) throw failure;
  return results;
}

module.exports = { rewrite, runMap, template, query, StatesError, MAP_TASK_RESOURCE, THRESHOLD_ERROR, THRESHOLD_CAUSE };
