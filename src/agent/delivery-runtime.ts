/**
 * Wires the delivery side for a process: the sender used by TestWebhook/SaveWebhook's ping, the save-time
 * target policy, and (when started) the worker that drains the outbox.
 *
 * wake() reaches only the worker of this process. Workers in other processes (`worker` next to `serve`) learn of
 * new events on PostgreSQL from `NOTIFY wa_outbox`, sent by the enqueueing transaction itself, and otherwise at
 * their next poll (outbox/outbox-notify.ts).
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { separatePool, type Database } from '../store/db.js';
import type { Logger } from '../logger.js';
import { createSender } from '../outbox/index.js';
import { createWorker, type FinishedObserver, type Worker } from '../outbox/index.js';
import { checkTargetUrl, defaultResolve, type Resolve } from '../outbox/index.js';
import type { TargetPort } from './webhook-agent.js';
import type { AttemptObserver } from '../outbox/index.js';
import { secretCodecFor, type SecretCodec } from '../store/secret-codec.js';

export interface DeliveryRuntime {
  target: TargetPort;
  startWorker(): Promise<void>;
  /**
   * Wakes the in-process worker (no-op when it is not running); other processes are told by NOTIFY on PostgreSQL.
   * webhookIds: the webhooks that got new deliveries, when known (the worker skips a claim none of them could pass).
   */
  wake(webhookIds?: readonly number[]): void;
  stop(graceMs: number): Promise<void>;
  /** This process's worker now (null while it is not running): deliveries in flight, open circuits (metrics). */
  workerState(): { inFlight: number; circuitsOpen: number } | null;
}

/** A host name as the hosts file is looked up by: lower case, without the root's trailing dot (`a.test.` is `a.test`). */
const hostKey = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** Parses a hosts(5) file into name -> addresses. */
export function parseHostsFile(text: string): Map<string, Array<{ address: string; family: number }>> {
  const map = new Map<string, Array<{ address: string; family: number }>>();
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || names.length === 0) continue;
    const family = address.includes(':') ? 6 : 4;
    for (const n of names) {
      const key = hostKey(n);
      map.set(key, [...(map.get(key) ?? []), { address, family }]);
    }
  }
  return map;
}

export function hostsFirstResolve(file: string | undefined): Resolve {
  if (!file) return defaultResolve;
  const hosts = parseHostsFile(readFileSync(file, 'utf8'));
  return async (hostname) => hosts.get(hostKey(hostname)) ?? defaultResolve(hostname);
}

export function createDeliveryRuntime(deps: {
  db: Database;
  config: Config;
  logger: Logger;
  lookup?: Resolve;
  /** How webhook secrets are stored; default: built from the configuration. */
  secrets?: SecretCodec;
  /** Told of every attempt the worker records (metrics). */
  onAttempt?: AttemptObserver;
  /** Told of deliveries the worker finished without an attempt (metrics). */
  onFinished?: FinishedObserver;
}): DeliveryRuntime {
  const { db, config, logger } = deps;
  const secrets = deps.secrets ?? secretCodecFor(config);
  const lookup = deps.lookup ?? hostsFirstResolve(config.targetHostsFile);
  const sender = createSender({ config, lookup });
  let worker: Worker | null = null;
  let workerDb: Database | null = null;
  return {
    target: {
      checkTargetUrl: (url) => checkTargetUrl(url, config),
      sendTestEvent: (hook, associateId) => sender.sendTestEvent(hook, { changedByAssociateId: associateId }),
    },
    async startWorker() {
      // Its own pool (up to WORKER_DB_POOL_MAX connections) on PostgreSQL and SQL Server: requests cannot starve it.
      workerDb = separatePool(db, config.workerDbPoolMax);
      worker = createWorker({ db: workerDb, config, logger, lookup, secrets, onAttempt: deps.onAttempt, onFinished: deps.onFinished });
      await worker.start();
    },
    wake: (webhookIds) => worker?.wake(webhookIds),
    workerState() {
      if (!worker) return null;
      const s = worker.stats();
      return { inFlight: s.inFlight, circuitsOpen: s.circuitsOpen };
    },
    async stop(graceMs) {
      await worker?.stop({ graceMs });
      if (workerDb && workerDb !== db) await workerDb.close();
      sender.close();
    },
  };
}
