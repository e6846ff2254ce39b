/**
 * claimAndLoad for the server dialects: the hold statement, the claim statement, the run statement and one query
 * that loads what is needed to send, each its own short transaction (claim-deliveries.ts says why that is safe).
 * SQLite does all of it in one transaction on its single connection instead (outbox-sqlite.ts).
 */
import type { Knex } from 'knex';
import type { SecretCodec } from '../../store/secret-codec.js';
import { sortClaims, type ClaimRequest, type ClaimResult, type HoldRequest } from '../claim-types.js';
import { loadClaimed } from '../claimed-delivery.js';
import type { OutboxBackend } from './backend-types.js';

export async function claimInSteps(
  backend: Pick<OutboxBackend, 'claim' | 'extendRuns' | 'hold'>,
  k: Knex,
  req: ClaimRequest,
  hold: HoldRequest | undefined,
  secrets: SecretCodec,
): Promise<ClaimResult> {
  const held = hold && hold.limit > 0 ? await backend.hold(k, hold) : 0;
  if (req.limit <= 0) return { deliveries: [], held };
  const heads = await backend.claim(k, req);
  const tail = (req.runLength ?? 1) - 1;
  const runs = heads.length > 0 && tail > 0
    ? await backend.extendRuns(k, { now: req.now, leaseMs: req.leaseMs, token: req.token, heads: heads.map((c) => c.deliveryId), tail })
    : [];
  return { deliveries: await loadClaimed(k, sortClaims([...heads, ...runs]), { secrets }), held };
}
