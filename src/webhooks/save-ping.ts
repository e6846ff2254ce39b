/**
 * When SaveWebhook sends its signed test event first (the ping) and refuses the save unless the target takes it.
 * The ping asks "will deliveries reach this target?", so it is due only when the saved hook will deliver (Active)
 * and something deliveries depend on is new: a new hook, a hook becoming Active, or a changed target, secret or
 * header set. A save that leaves the hook Stopped or TooManyErrors never pings: stopping a hook whose target is
 * broken is the main reason to stop it, and a ping would refuse exactly that.
 */
import type { Webhook, WebhookInput, WebhookState } from './types.js';

type PingFacts = Pick<WebhookInput, 'targetUrl' | 'secret' | 'headers'>;

const sameHeaders = (a: Record<string, string> | null, b: Record<string, string> | null): boolean => {
  const x = Object.entries(a ?? {}).sort(([k], [l]) => (k < l ? -1 : k > l ? 1 : 0));
  const y = Object.entries(b ?? {}).sort(([k], [l]) => (k < l ? -1 : k > l ? 1 : 0));
  return x.length === y.length && x.every(([k, v], i) => k === y[i][0] && v === y[i][1]);
};

/**
 * `next`: the hook as it will be saved; `stored`: the hook before this save (null for a new one); `storedState`: the
 * state it has before this save (the stored one, or the one locked in the save's transaction).
 */
export function saveNeedsPing(next: PingFacts & { state: WebhookState }, stored: (PingFacts & Pick<Webhook, 'state'>) | null,
  storedState: WebhookState | null = stored?.state ?? null): boolean {
  if (next.state !== 'Active') return false;
  if (!stored || storedState !== 'Active') return true;
  return next.targetUrl !== stored.targetUrl || (next.secret || null) !== (stored.secret || null)
    || !sameHeaders(next.headers, stored.headers);
}
