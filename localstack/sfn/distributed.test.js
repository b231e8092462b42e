// Unit tests of the Distributed Map emulation and the payload quota (node --test; run by
// TestStepFunctionsEmulationUnits in localstack).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { rewrite, runMap, THRESHOLD_ERROR, THRESHOLD_CAUSE, MAP_TASK_RESOURCE } = require('./distributed');
const { checkPayload, PAYLOAD_LIMIT } = require('./limits');

const child = { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:w', End: true } } };
const distributed = (extra = {}) => ({
  Type: 'Map',
  ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.key' } },
  ItemBatcher: { MaxItemsPerBatchPath: '$.per', BatchInput: { 'job.$': '$.job', 'exec.$': '$$.Execution.Id' } },
  MaxConcurrencyPath: '$.parallelism',
  ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, ...child },
  ResultPath: null,
  Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
  Next: 'Done',
  ...extra,
});
const machine = (map) => ({ StartAt: 'Fan', States: { Fan: map, Done: { Type: 'Succeed' }, Failed: { Type: 'Fail' } } });

test('rewrite replaces a Distributed Map by a Task keeping its paths, Catch and transition', () => {
  const { def, maps } = rewrite(machine(distributed()));
  const t = def.States.Fan;
  assert.strictEqual(t.Type, 'Task');
  assert.strictEqual(t.Resource, MAP_TASK_RESOURCE);
  assert.strictEqual(t.ResultPath, null);
  assert.deepStrictEqual(t.Catch, [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }]);
  assert.strictEqual(t.Next, 'Done');
  assert.ok(maps.get('Fan').child.def.States.Work);
});

test('rewrite refuses every Map field it does not execute', () => {
  const refused = {
    ResultWriter: { ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b', Prefix: 'p' } } },
    ToleratedFailurePercentage: { ToleratedFailurePercentage: 5 },
    ToleratedFailureCount: { ToleratedFailureCount: 1 },
    'ItemReader.MaxItems': { ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON', MaxItems: 3 }, Parameters: { Bucket: 'b', Key: 'k' } } },
    'a CSV reader': { ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'CSV' }, Parameters: { Bucket: 'b', Key: 'k' } } },
    'a listObjectsV2 reader': { ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'b' } } },
    MaxInputBytesPerBatch: { ItemBatcher: { MaxItemsPerBatch: 2, MaxInputBytesPerBatch: 1000 } },
    'an intrinsic function': { ItemSelector: { 'v.$': 'States.JsonToString($$.Map.Item.Value)' } },
    'EXPRESS children': { ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, ...child } },
  };
  for (const [what, extra] of Object.entries(refused)) {
    assert.throws(() => rewrite(machine(distributed(extra))), /not executed by the local Step Functions server|exclusive/, what);
  }
  // Distributed-only fields on an inline Map.
  const inline = { Type: 'Map', ItemsPath: '$.items', ItemBatcher: { MaxItemsPerBatch: 2 }, ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...child }, End: true };
  assert.throws(() => rewrite({ StartAt: 'M', States: { M: inline } }), /ItemBatcher on an inline Map/);
  // ... also inside a Parallel branch.
  assert.throws(() => rewrite({ StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [{ StartAt: 'M', States: { M: inline } }], End: true } } }), /inline Map/);
});

function fakeIO(items, { fail = () => false, delay = 5 } = {}) {
  const io = { reads: [], started: [], maxRunning: 0, running: 0, aborted: 0 };
  io.readObject = async (bucket, key) => { io.reads.push(`${bucket}/${key}`); return JSON.stringify(items); };
  io.authorized = [];
  io.authorize = async (action, resource) => { io.authorized.push(resource ? `${action} ${resource}` : action); };
  io.stopped = () => false;
  io.startChild = (input, i) => {
    io.started.push(input);
    io.running++;
    io.maxRunning = Math.max(io.maxRunning, io.running);
    let abort;
    const result = new Promise((resolve, reject) => {
      const t = setTimeout(() => (fail(i) ? reject(Object.assign(new Error('boom'), { name: 'PermanentError' })) : resolve({ n: i })), delay);
      abort = () => { clearTimeout(t); io.aborted++; reject(new Error('aborted')); };
    }).finally(() => { io.running--; });
    return { arn: `child-${i}`, result, abort };
  };
  return io;
}

const input = { bucket: 'repo', key: 'items.json', per: 2, parallelism: 2, job: { id: 'j1' } };
const context = { Execution: { Id: 'arn:exec:1' } };

test('runMap reads the items from S3 and runs each batch as {Items, BatchInput}, MaxConcurrency at a time', async () => {
  const { maps } = rewrite(machine(distributed()));
  const io = fakeIO([0, 1, 2, 3, 4]);
  const out = await runMap('Fan', maps.get('Fan'), input, context, io);
  assert.deepStrictEqual(io.reads, ['repo/items.json']);
  const batchInput = { job: { id: 'j1' }, exec: 'arn:exec:1' };
  assert.deepStrictEqual(io.started, [
    { Items: [0, 1], BatchInput: batchInput }, { Items: [2, 3], BatchInput: batchInput }, { Items: [4], BatchInput: batchInput }]);
  assert.strictEqual(io.maxRunning, 2);
  assert.deepStrictEqual(out, [{ n: 0 }, { n: 1 }, { n: 2 }]);
  // As the role: StartExecution before each child, DescribeExecution of each once it ended.
  assert.deepStrictEqual(io.authorized.filter((a) => a === 'states:StartExecution').length, 3);
  assert.deepStrictEqual(io.authorized.filter((a) => a.startsWith('states:DescribeExecution')).sort(),
    ['states:DescribeExecution child-0', 'states:DescribeExecution child-1', 'states:DescribeExecution child-2']);
});

test('runMap applies ItemSelector to each item with $$.Map.Item', async () => {
  const { maps } = rewrite(machine(distributed({ ItemSelector: { 'v.$': '$$.Map.Item.Value', 'i.$': '$$.Map.Item.Index', 'job.$': '$.job.id' }, ItemBatcher: undefined })));
  const io = fakeIO(['a', 'b']);
  await runMap('Fan', maps.get('Fan'), input, context, io);
  assert.deepStrictEqual(io.started, [{ v: 'a', i: 0, job: 'j1' }, { v: 'b', i: 1, job: 'j1' }]);
});

test('a failed child fails the Map Run with States.ExceedToleratedFailureThreshold and aborts the others', async () => {
  const { maps } = rewrite(machine(distributed()));
  const io2 = fakeIO([0, 1, 2, 3, 4, 5, 6, 7], { fail: (i) => i === 0, delay: 1 });
  await assert.rejects(runMap('Fan', maps.get('Fan'), input, context, io2), (e) => {
    assert.strictEqual(e.name, THRESHOLD_ERROR);
    assert.strictEqual(e.message, THRESHOLD_CAUSE);
    assert.strictEqual(e.child.arn, 'child-0');
    assert.strictEqual(e.child.error.name, 'PermanentError');
    return true;
  });
  assert.strictEqual(io2.started.length, 2, 'no child starts after the failure');
  assert.strictEqual(io2.aborted, 1, 'the running child is aborted');
  assert.ok(io2.authorized.includes('states:StopExecution child-1'), 'stopped as the role');
});

test('an item file that is not a JSON array fails with States.ItemReaderFailed', async () => {
  const { maps } = rewrite(machine(distributed()));
  const io = fakeIO({ not: 'an array' });
  await assert.rejects(runMap('Fan', maps.get('Fan'), input, context, io), { name: 'States.ItemReaderFailed' });
  io.readObject = async () => { throw new Error('S3 GetObject: AccessDenied'); };
  await assert.rejects(runMap('Fan', maps.get('Fan'), input, context, io), { name: 'States.ItemReaderFailed', message: /AccessDenied/ });
});

test('a role that may not start the children fails the Map before any starts', async () => {
  const { maps } = rewrite(machine(distributed()));
  const io = fakeIO([0, 1]);
  io.authorize = async () => { throw Object.assign(new Error('denied'), { name: 'States.Runtime' }); };
  await assert.rejects(runMap('Fan', maps.get('Fan'), input, context, io), { name: 'States.Runtime', message: 'denied' });
  assert.strictEqual(io.started.length, 0);
});

test('payloads over 256 KB are States.DataLimitExceeded', () => {
  assert.strictEqual(checkPayload('output', 'S', 'x'.repeat(PAYLOAD_LIMIT - 2)), PAYLOAD_LIMIT);
  assert.throws(() => checkPayload('output', 'S', 'x'.repeat(PAYLOAD_LIMIT - 1)), { name: 'States.DataLimitExceeded', message: /'S' returned a result with a size exceeding/ });
  assert.throws(() => checkPayload('input', 'S', { s: 'é'.repeat(PAYLOAD_LIMIT / 2) }), { name: 'States.DataLimitExceeded', message: /'S' has input/ });
});
