// What a state machine does as its role besides invoking Lambda: read a Distributed Map's items
// from S3 (a SigV4-signed GetObject to AWS_ENDPOINT_URL_S3, which the local stack authorizes
// against the role's policies), and ask the local IAM (SFN_IAM_URL) whether the role may start
// its Map Run's child executions. Without SFN_ROLE_KEY_PREFIX (IAM off) it uses the process's
// own credentials and allows everything.
'use strict';
const http = require('http');
const crypto = require('crypto');
const { SignatureV4 } = require('@smithy/signature-v4');

const REGION = process.env.AWS_REGION || 'us-east-1';

// Sha256 is the hash constructor SignatureV4 wants, over node:crypto.
class Sha256 {
  constructor(secret) { this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256'); }
  update(data) { this.h.update(data); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

function accessKeyFor(roleArn) {
  const prefix = process.env.SFN_ROLE_KEY_PREFIX;
  if (!prefix || !roleArn) return process.env.AWS_ACCESS_KEY_ID || 'local';
  return prefix + roleArn.split('/').pop();
}

function send(url, { method, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// readObject returns the text of s3://bucket/key, read as roleArn.
async function readObject(roleArn, bucket, key) {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL_S3 is not set');
  const base = new URL(endpoint);
  const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const signer = new SignatureV4({
    service: 's3', region: REGION, sha256: Sha256, uriEscapePath: false, applyChecksum: true,
    credentials: { accessKeyId: accessKeyFor(roleArn), secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || 'local' },
  });
  const signed = await signer.sign({
    method: 'GET', protocol: base.protocol, hostname: base.hostname, port: base.port ? Number(base.port) : undefined,
    path, headers: { host: base.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  const res = await send(new URL(path, base), { method: 'GET', headers: signed.headers });
  if (res.status !== 200) {
    const code = (res.body.match(/<Code>([^<]*)<\/Code>/) || [])[1] || `HTTP ${res.status}`;
    const msg = (res.body.match(/<Message>([^<]*)<\/Message>/) || [])[1] || '';
    throw new Error(`S3 GetObject: ${code}${msg ? ': ' + msg : ''}`);
  }
  return res.body;
}

// authorize throws unless roleArn may do action on resource.
async function authorize(roleArn, action, resource) {
  const url = process.env.SFN_IAM_URL;
  if (!url || !process.env.SFN_ROLE_KEY_PREFIX) return;
  const res = await send(url, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessKey: accessKeyFor(roleArn), action, resource }),
  });
  if (res.status !== 200) {
    const err = new Error(res.body);
    err.name = 'States.Runtime';
    throw err;
  }
}

module.exports = { readObject, authorize };
