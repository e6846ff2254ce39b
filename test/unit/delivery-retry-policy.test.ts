import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { nextAttempt, retryDelayMs } from '../../src/outbox/send/retry-policy.js';
import { classifyStatus, classifyTransportError, parseRetryAfter } from '../../src/outbox/send/outcome.js';

const config = { retryBaseMs: 60_000, retryMaxDelayMs: 3_600_000, retryMaxAgeMs: 3 * 24 * 3_600_000 };
const mid = () => 0.5; // jitter factor exactly 1

describe('retry schedule', () => {
  test("NetServer's cycle first (+1 s, +4 s), then exponential from retryBaseMs, capped", () => {
    const delays = Array.from({ length: 10 }, (_, i) => retryDelayMs(i + 1, config, mid));
    assert.deepEqual(delays, [1000, 4000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000]);
  });

  test('jitter stays within [0.8, 1.2) of the backoff delay and never above the cap', () => {
    assert.equal(retryDelayMs(3, config, () => 0), 48_000);
    assert.equal(retryDelayMs(3, config, () => 0.999999), 72_000);
    assert.equal(retryDelayMs(50, config, () => 0.999999), 3_600_000);
    // The first cycle is NetServer's exact timing, no jitter.
    assert.equal(retryDelayMs(1, config, () => 0), 1000);
    assert.equal(retryDelayMs(2, config, () => 0.99), 4000);
  });

  test('Retry-After replaces the delay only when it asks for more', () => {
    assert.deepEqual(nextAttempt({ attemptNo: 1, nowMs: 0, createdMs: 0, retryAfterMs: 120_000, config, random: mid }),
      { retry: true, nextAttemptAt: 120_000 });
    assert.deepEqual(nextAttempt({ attemptNo: 3, nowMs: 0, createdMs: 0, retryAfterMs: 5_000, config, random: mid }),
      { retry: true, nextAttemptAt: 60_000 });
  });

  test('expired when the next attempt would fall outside the retry window', () => {
    const created = 0;
    const now = config.retryMaxAgeMs - 30_000;
    const d = nextAttempt({ attemptNo: 5, nowMs: now, createdMs: created, config, random: mid });
    assert.equal(d.retry, false);
    assert.ok(nextAttempt({ attemptNo: 1, nowMs: now, createdMs: created, config, random: mid }).retry);
  });
});

describe('Retry-After', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  test('delta-seconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
  });
  test('HTTP-date, in the future and in the past', () => {
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now), 90_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  });
  test('absent or unusable', () => {
    for (const v of [undefined, null, '', '-5', '1.5', 'soon', '2026-01-01T00:01:00Z']) assert.equal(parseRetryAfter(v, now), null, String(v));
  });
});

describe('classification', () => {
  test('status codes', () => {
    assert.deepEqual(classifyStatus(200, null), { kind: 'success' });
    assert.deepEqual(classifyStatus(204, null), { kind: 'success' });
    assert.deepEqual(classifyStatus(410, 5000), { kind: 'gone' });
    assert.deepEqual(classifyStatus(429, 5000), { kind: 'retry_after', retryAfterMs: 5000 });
    assert.deepEqual(classifyStatus(503, 0), { kind: 'retry_after', retryAfterMs: 0 });
    assert.deepEqual(classifyStatus(503, null), { kind: 'failure', errorClass: 'http' });
    assert.deepEqual(classifyStatus(500, 5000), { kind: 'failure', errorClass: 'http' });
    assert.deepEqual(classifyStatus(302, null), { kind: 'failure', errorClass: 'http' });
    assert.deepEqual(classifyStatus(413, null), { kind: 'failure', errorClass: 'too_large' });
  });
  test('transport errors', () => {
    assert.equal(classifyTransportError('ENOTFOUND', ''), 'dns');
    assert.equal(classifyTransportError('EAI_AGAIN', ''), 'dns');
    assert.equal(classifyTransportError('ECONNREFUSED', ''), 'connect');
    assert.equal(classifyTransportError('ECONNRESET', ''), 'connect');
    assert.equal(classifyTransportError('ETIMEDOUT', ''), 'timeout');
    assert.equal(classifyTransportError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'tls');
    assert.equal(classifyTransportError('ERR_TLS_CERT_ALTNAME_INVALID', ''), 'tls');
    assert.equal(classifyTransportError('ERR_TARGET_REFUSED', ''), 'refused_target');
    assert.equal(classifyTransportError(undefined, 'weird'), 'other');
  });
});
