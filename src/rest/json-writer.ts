/**
 * Webhook carriers to JSON text through a writer compiled once (fast-json-stringify) from the schema the served
 * Swagger documents describe: a list of 100 webhooks is written several times faster than by JSON.stringify.
 */
import fastJson from 'fast-json-stringify';
import { webhookWriteSchema } from './swagger-documents.js';

const schema = webhookWriteSchema();
const { definitions, ...webhook } = schema;

export const writeWebhookJson: (value: unknown) => string = fastJson({ ...webhook, definitions } as never);
export const writeWebhookListJson: (value: unknown) => string = fastJson({ type: 'array', items: webhook, definitions } as never);
