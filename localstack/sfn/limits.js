// Step Functions' payload quota, as AWS enforces it: a state's input or output, a task's
// result, over 256 KB (UTF-8 bytes of the JSON) fails the execution with
// States.DataLimitExceeded, which no Catch (not even States.ALL) and no Retry matches.
'use strict';

const PAYLOAD_LIMIT = 256 * 1024;

// byteSize is the size Step Functions counts: the UTF-8 bytes of the JSON text.
function byteSize(value) {
  return Buffer.byteLength(JSON.stringify(value === undefined ? null : value), 'utf8');
}

// DataLimitError is States.DataLimitExceeded; the server fails the execution with it directly
// rather than letting the interpreter offer it to a Catch.
class DataLimitError extends Error {
  constructor(message) {
    super(message);
    this.name = 'States.DataLimitExceeded';
  }
}

// checkPayload throws DataLimitError when value exceeds the quota. what is "input" (a state's
// input) or "output" (a state's or a task's result).
function checkPayload(what, stateName, value, limit = PAYLOAD_LIMIT) {
  const n = byteSize(value);
  if (n <= limit) return n;
  throw new DataLimitError(what === 'input'
    ? `The state/task '${stateName}' has input with a size exceeding the maximum number of bytes service limit (${n} > ${limit} bytes).`
    : `The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit (${n} > ${limit} bytes).`);
}

module.exports = { PAYLOAD_LIMIT, byteSize, checkPayload, DataLimitError };
