/**
 * Webhook carriers to JSON text through a writer compiled once (fast-json-stringify) from the schema the served
 * Swagger documents describe: a list of 100 webhooks is written several times faster than by JSON.stringify.
 * The library is loaded and the writers compiled on first use, not at start-up: most deployments only speak SOAP,
 * and loading it was a tenth of the time to ready (bench/startup.ts).
 */
import { createRequire } from 'node:module';
import type fastJsonType from 'fast-json-stringify';
import { webhookWriteSchema } from './swagger-documents.js';

type Writer = (value: unknown) => string;
let writers: { one: Writer; list: Writer } | null = null;

function compiled(): { one: Writer; list: Writer } {
  if (writers) return writers;
  const fastJson = createRequire(import.meta.url)('fast-json-stringify') as typeof fastJsonType;
  const { definitions, ...webhook } = webhookWriteSchema();
  writers = {
    one: fastJson({ ...webhook, definitions } as never),
    list: fastJson({ type: 'array', items: webhook, definitions } as never),
  };
  return writers;
}

export const writeWebhookJson: Writer = (value) => compiled().one(value);
export const writeWebhookListJson: Writer = (value) => compiled().list(value);
