/**
 * How fromStsVerification reads STS's answers (issue 20 point 2), against a loopback HTTP server
 * speaking STS's error format: the two refusals condemn the set; any other answer, and no
 * answer at all, leave it unverified (the settle rule decides), saying which without a secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromStsVerification, type VerifyOutcome } from '../../src/aws/fromStsVerification.js';

const SET = { accessKeyId: 'ASIAUNITVERIFY000001', secretAccessKey: 'unit-secret-'.padEnd(40, 's'), sessionToken: 'unit-session-token-value' };

const errorBody = (code: string) =>
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>about ${code}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`;
const IDENTITY = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><UserId>AROA:s</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;

/** A server answering each request with `answer` (or never, for null); resolves to the outcome. */
async function verifyAgainst(answer: { status: number; body: string } | null, timeoutMs = 2_000): Promise<VerifyOutcome> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    if (!answer) return void held.push(res);
    res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await fromStsVerification({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, env: {}, timeoutMs })(SET);
  } finally {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const noSecret = (outcome: VerifyOutcome) => {
  const text = JSON.stringify(outcome);
  assert.ok(!text.includes(SET.secretAccessKey) && !text.includes(SET.sessionToken), text);
};

test('an accepted GetCallerIdentity verifies the set', async () => {
  assert.deepEqual(await verifyAgainst({ status: 200, body: IDENTITY }), { outcome: 'verified' });
});

test('SignatureDoesNotMatch and InvalidClientTokenId refuse it (torn or bad)', async () => {
  for (const code of ['SignatureDoesNotMatch', 'InvalidClientTokenId']) {
    const outcome = await verifyAgainst({ status: 403, body: errorBody(code) });
    assert.deepEqual(outcome, { outcome: 'refused', code });
  }
});

test('any other answer (throttled, expired, 5xx) is no verdict on the set: unverified, STS answered', async () => {
  for (const [status, code] of [[400, 'Throttling'], [403, 'ExpiredToken'], [500, 'InternalFailure']] as const) {
    const outcome = await verifyAgainst({ status, body: errorBody(code) });
    assert.equal(outcome.outcome, 'unverified', JSON.stringify(outcome));
    assert.equal(outcome.outcome === 'unverified' && outcome.answered, true);
    assert.match(outcome.outcome === 'unverified' ? outcome.reason : '', new RegExp(`answered ${code} \\(HTTP ${status}\\)`));
    noSecret(outcome);
  }
});

test('no answer within the timeout: unverified, STS did not answer', async () => {
  const outcome = await verifyAgainst(null, 300);
  assert.equal(outcome.outcome, 'unverified');
  assert.equal(outcome.outcome === 'unverified' && outcome.answered, false);
  assert.match(outcome.outcome === 'unverified' ? outcome.reason : '', /did not answer \(no answer within 300 ms\)/);
  noSecret(outcome);
});
