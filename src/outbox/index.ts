/**
 * The outbox as the rest of the service uses it (agent/, metrics/, the CLI): lint (eslint.config.js) lets nothing
 * outside src/outbox/ import its modules but this one, so its inner files can change without touching callers.
 */
export { enqueueSignalledEvent } from './enqueue-signalled.js';
export { enqueueIdempotent, type IdempotentResult } from './enqueue-idempotent.js';
export { cancelDeliveriesFor, enqueueEventBatch, releaseParkedDeliveries, type BatchResult } from './outbox-repository.js';
export { fireStateEvent } from './state-event.js';
export { notifyOutbox } from './outbox-backend.js';
export { createWorker, type FinishedObserver, type Worker } from './worker.js';
export type { AttemptObserver, AttemptReport } from './attempt-report.js';
export { createSender } from './send/sender.js';
export { signBody } from './send/signature.js';
export { checkTargetUrl, defaultResolve, type Resolve, type TargetPolicy } from './send/target-guard.js';
export {
  attemptChart, deliveryStatusNames, failedDeliveryIds, failedStatuses, getDelivery, listDeliveries, purgeDeliveries, queueFigures,
  redeliver, webhooksByState,
  type AttemptRow, type ChartBucket, type DeliveryRow, type DeliveryStatus, type PurgeResult, type QueueFigures,
} from './delivery-history.js';
export { rebuildSentRequest, type RebuiltRequest, type RebuildResult } from './sent-request.js';
