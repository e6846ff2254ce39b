/**
 * Which claimed work may send now. The worker has workerConcurrency slots; an attempt past slowAttemptMs stops
 * holding its slot (up to maxSlowInFlight such attempts), so a few slow targets cannot take every slot. Noisy
 * neighbours (send/target-gate.ts): a host has at most hostConcurrency attempts in flight, and a host that keeps
 * timing out has its circuit opened. Webhooks of blocked hosts are left out of the next claim, so the claim's
 * slots go to the others.
 */
import type { ClaimedDelivery } from '../claimed-delivery.js';
import { createTargetGate, targetHost } from '../send/target-gate.js';
import type { Clock, WorkerConfig, WorkerLogger } from './types.js';

/** Bounds of the noisy-neighbour bookkeeping: webhook -> host entries kept, webhook ids put in one claim's skip list. */
const MAX_KNOWN_WEBHOOKS = 10_000;
const MAX_SKIPPED_WEBHOOKS = 500;

export type Admitted = { ok: true } | { ok: false; retryAt: number };

export interface Admission {
  /** Slots free while `inFlight` runs are in flight (slow attempts hold none). */
  freeSlots(inFlight: number): number;
  /** Webhooks whose target host refuses admission now: the next claim leaves them out. */
  blockedWebhooks(): number[];
  /** A run's first attempt: the target host it was admitted to ('' when nothing is sent), or when to try again. */
  admitRun(head: ClaimedDelivery): ({ ok: true; host: string }) | { ok: false; retryAt: number };
  /** A later attempt of a run, to the host its first one was admitted to. */
  admitNext(host: string): Admitted;
  /** An attempt of the run keyed `runKey` is sending to host: past slowAttemptMs it gives its slot back. */
  sending(runKey: number): void;
  /** That attempt ended (timedOut: no answer within the delivery timeout, and not cut short by stop()). */
  sent(runKey: number, host: string, webhookId: number, timedOut: boolean): void;
  /** The run ended. */
  ended(runKey: number): void;
  /** Target hosts whose circuit is open or half-open (metrics). */
  openCircuits(): number;
}

export function createAdmission(deps: {
  config: Pick<WorkerConfig, 'workerConcurrency' | 'hostConcurrency' | 'slowAttemptMs' | 'maxSlowInFlight' | 'circuitTimeouts' | 'circuitCooldownMs'>;
  logger: WorkerLogger;
  now: Clock;
  /** A slow attempt gave its slot back. */
  onSlotFreed: () => void;
}): Admission {
  const { config, logger, now } = deps;
  const gate = createTargetGate({ hostConcurrency: config.hostConcurrency, circuitTimeouts: config.circuitTimeouts,
    circuitCooldownMs: config.circuitCooldownMs, now });
  const slow = new Set<number>();
  const slowTimers = new Map<number, NodeJS.Timeout>();
  const hostOfWebhook = new Map<number, string>();

  const settle = (runKey: number) => {
    clearTimeout(slowTimers.get(runKey));
    slowTimers.delete(runKey);
    slow.delete(runKey);
  };

  return {
    freeSlots: (inFlight) => config.workerConcurrency - (inFlight - Math.min(slow.size, config.maxSlowInFlight)),

    blockedWebhooks() {
      const blockedHosts = gate.blocked();
      const skip: number[] = [];
      if (blockedHosts.size > 0) {
        for (const [webhookId, host] of hostOfWebhook) {
          if (blockedHosts.has(host)) skip.push(webhookId);
          if (skip.length >= MAX_SKIPPED_WEBHOOKS) break;
        }
      }
      return skip;
    },

    admitRun(c) {
      const sends = c.secretError === undefined && c.hook.type.toLowerCase() === 'webhook';
      const host = sends ? targetHost(c.hook.targetUrl) : '';
      if (host) {
        if (hostOfWebhook.size >= MAX_KNOWN_WEBHOOKS && !hostOfWebhook.has(c.webhookId)) hostOfWebhook.clear();
        hostOfWebhook.set(c.webhookId, host);
        const admission = gate.admit(host);
        if (!admission.ok) return { ok: false, retryAt: admission.retryAt };
      }
      return { ok: true, host };
    },

    admitNext(host) {
      const admission = gate.admit(host);
      return admission.ok ? admission : { ok: false, retryAt: admission.retryAt };
    },

    sending(runKey) {
      const timer = setTimeout(() => {
        slow.add(runKey);
        if (slow.size <= config.maxSlowInFlight) deps.onSlotFreed();
      }, config.slowAttemptMs);
      timer.unref();
      slowTimers.set(runKey, timer);
    },

    sent(runKey, host, webhookId, timedOut) {
      // A slow attempt gave its slot back while it lasted; the run's next attempt takes it again.
      settle(runKey);
      if (!host) return;
      const openBefore = gate.state(host).openUntil;
      gate.done(host, { timedOut });
      const openUntil = gate.state(host).openUntil;
      if (openUntil !== null && openUntil !== openBefore) {
        logger.warn({ host, webhookId, retryAt: new Date(openUntil).toISOString() },
          'target keeps timing out: circuit open, its deliveries are held back until then');
      }
    },

    ended: settle,
    openCircuits: () => gate.openCircuits(),
  };
}
