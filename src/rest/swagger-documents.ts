/**
 * The Swagger 2.0 documents of the two JSON faces this service implements, the project's own, built here from the
 * facts of NetServer's published ones (paths, operation ids, parameters, definition and member names and types),
 * and describing what this service really sends, so that a client validating strictly against them accepts every
 * answer: `x-nullable` on every member and definition that can be null, every status code an operation can answer
 * with the error body's schema, the [Flags] members (NotifyVia, NotifyWhen) as the comma lists Json.NET writes,
 * Properties and Data values as any JSON. `host`, `schemes` and `basePath` are the URL the caller used. Served
 * without authentication:
 *   GET /api/v1/swagger                      an index of the documents
 *   GET /api/v1/swagger/Webhook.json         RESTful face
 *   GET /api/v1/swagger/WebhookAgent.json    Agents face
 * Tests compare both with NetServer's published documents (the differences are declared there) and run a strict
 * validating client built from them through every operation.
 */
import express, { type Request, type Router } from 'express';
import { notifyViaFlags, notifyWhenFlags, webhookStates } from '../webhooks/types.js';
import { ERROR_STATUSES } from './http-errors.js';

type Schema = Record<string, unknown>;
const NS = 'SuperOffice.CRM.Services.';
const CARRIERS = 'SuperOffice.WebApi.v1.Carriers.WebhookCarriers.';
/** The JSON faces' error body: not in NetServer's documents, so a name of the project's own. */
const ERROR = 'WebhookAgent.ErrorResponse';
const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
const int: Schema = { type: 'integer', format: 'int32' };
const string: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const date: Schema = { type: 'string', format: 'date-time' };
const strings: Schema = { type: 'array', items: string };
const stringMap: Schema = { type: 'object', additionalProperties: string };
/** A C# Dictionary<string, object> (Properties, SignalEvent Data): values are any JSON, nested as sent. */
const objectMap: Schema = { type: 'object', additionalProperties: {} };
const enumOf = (values: readonly string[]): Schema => ({ type: 'string', enum: [...values] });
/** A [Flags] enum as Json.NET writes it: "None", one name, or names joined by ", " ("Email, InApp"). */
const flagsOf = (names: readonly string[]): Schema => ({
  type: 'string', pattern: `^(None|(${names.join('|')})(, (${names.join('|')}))*)$`,
  description: `[Flags]: None, or a comma list of ${names.join(', ')}`,
});
/** x-nullable; an enum lists null as well, since validators check enum apart from type. */
const nullable = (s: Schema): Schema => ({ ...s, ...(Array.isArray(s.enum) ? { enum: [...s.enum, null] } : {}), 'x-nullable': true });
/** Swagger 2.0 ignores siblings of $ref: a reference is nullable when its definition is (nullableDefinition). */
const isValueType = (s: Schema) => !s.$ref && (s.type === 'integer' || s.type === 'boolean' || (s.type === 'string' && Array.isArray(s.enum)));
const object = (properties: Record<string, Schema>, description?: string): Schema =>
  ({ ...(description ? { description } : {}), type: 'object', properties });
/** A carrier whose reference-type members (strings, arrays, maps) may be null, as .NET writes them; value types not. */
const carrier = (properties: Record<string, Schema>, description?: string): Schema =>
  object(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, v.$ref || isValueType(v) ? v : nullable(v)])), description);
const nullableDefinition = (s: Schema): Schema => nullable(s);
const rights = { TableRight: ref('SuperOffice.CRM.Security.TableRight'), FieldProperties: { type: 'object', additionalProperties: ref('SuperOffice.CRM.Security.FieldProperty') } };

const webhookMembers: Record<string, Schema> = {
  WebhookId: int, Name: string, Events: strings, TargetUrl: string, Secret: string, State: enumOf(webhookStates), Type: string,
  Headers: stringMap, Properties: objectMap, Registered: date, RegisteredAssociate: ref(`${NS}Associate`), Updated: date,
  UpdatedAssociate: ref(`${NS}Associate`), ErrorsEmail: string, ErrorEmails: strings,
  ErrorAssociates: { type: 'array', items: ref(`${NS}MDOListItem`) }, Description: string,
  NotifyVia: flagsOf(notifyViaFlags), NotifyWhen: flagsOf(notifyWhenFlags), TotalCalls: int, TotalErrors: int,
  ConsecutiveErrors: int, LastError: string,
};
/** `$select` nulls any member, value types included: every member of a webhook may be null. */
const nullableMembers = (props: Record<string, Schema>) =>
  Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.$ref ? v : nullable(v)]));

const commonDefinitions: Record<string, Schema> = {
  [`${NS}Webhook`]: object(nullableMembers(webhookMembers), 'A webhook: which events are POSTed to which target, signed with which secret.'),
  // Null as RegisteredAssociate / UpdatedAssociate when there is none.
  [`${NS}Associate`]: nullableDefinition(carrier({
    AssociateId: int, Name: string, PersonId: int, Rank: int, Tooltip: string,
    Type: enumOf(['Unknown', 'InternalAssociate', 'ResourceAssociate', 'ExternalAssociate', 'AnonymousAssociate', 'SystemAssociate']),
    GroupIdx: int, FullName: string, FormalName: string, Deleted: bool, EjUserId: int, UserName: string, ExtraFields: stringMap,
    CustomFields: stringMap, ...rights,
  }, 'A user (associate).')),
  // Always null on this service: it has no field-level rights.
  'SuperOffice.CRM.Security.TableRight': nullableDefinition(carrier({ Mask: string, Reason: string })),
  'SuperOffice.CRM.Security.FieldProperty': carrier({ FieldRight: ref('SuperOffice.CRM.Security.FieldRight'), FieldType: string, FieldLength: int }),
  'SuperOffice.CRM.Security.FieldRight': carrier({ Mask: string, Reason: string }),
  [`${NS}MDOListItem`]: carrier({
    Id: int, Name: string, ToolTip: string, Deleted: bool, Rank: int, Type: string,
    ChildItems: { type: 'array', items: ref(`${NS}MDOListItem`) }, IconHint: string, ColorBlock: int, ExtraInfo: string,
    StyleHint: string, FullName: string, ...rights,
  }, 'A list item.'),
  [`${NS}WebhookResult`]: carrier({ Success: bool, Message: string, ...rights }, 'The outcome of a test POST.'),
  [ERROR]: {
    type: 'object', description: 'The body of every 4xx and 5xx answer (NetServer\'s RESTful error body, plus ErrorCode and ErrorField).',
    required: ['Error', 'ErrorType', 'ErrorMessage', 'ErrorSource', 'ErrorCode'],
    properties: {
      Error: bool, ErrorType: string, ErrorMessage: string, ErrorSource: string,
      ErrorCode: { type: 'string', description: 'A stable code: invalid_argument, not_found, unauthenticated, bad_request, ...' },
      ErrorField: nullable({ type: 'string', description: 'The member or parameter the error is about' }),
      StackTrace: { type: 'string', description: 'Only with DEBUG_ERRORS=true' },
    },
  },
};

/**
 * JSON Schema of the Webhook carrier as this service writes it (every member may be null, Properties' values are any
 * JSON, _Links optional), for the compiled JSON writer (json-writer.ts).
 */
export function webhookWriteSchema(): Schema {
  const writable = (s: Schema): Schema => {
    if (s.$ref) return { anyOf: [s, { type: 'null' }] };
    if (s.additionalProperties && Object.keys(s.additionalProperties as Schema).length === 0) return { type: ['object', 'null'], additionalProperties: {} };
    const { enum: _e, format: _f, pattern: _p, description: _d, 'x-nullable': _n, ...rest } = s;
    return { ...rest, type: [s.type as string, 'null'] };
  };
  const members = (props: Record<string, Schema>) => Object.fromEntries(Object.entries(props).map(([k, v]) => [k, writable(v)]));
  const defs: Record<string, Schema> = {};
  for (const [name, d] of Object.entries(commonDefinitions)) defs[name] = { type: 'object', properties: members(d.properties as Record<string, Schema>) };
  return {
    type: 'object',
    definitions: defs,
    properties: { ...members(webhookMembers), _Links: { type: 'object', additionalProperties: string } },
  };
}

const JSON_OUT = ['application/json', 'text/json'];
const JSON_IN = ['application/json', 'text/json', 'application/json-patch+json', 'application/merge-patch+json'];
const headerParams = ['Accept-Language', 'SO-Language', 'SO-Culture', 'SO-TimeZone', 'SO-AppToken']
  .map((name) => ({ name, in: 'header', required: false, type: 'string', description: `${name} header (accepted)` }));
const appToken = headerParams.filter((p) => p.name === 'SO-AppToken');
const select = { name: '$select', in: 'query', required: false, type: 'string', description: 'Comma separated members to return; the others are null' };
const security = [{ Password: [] }];
const ERROR_TEXT: Record<number, string> = {
  400: 'Bad request: a parameter or member of the wrong type, a refused value (ErrorField names it), a body that is not JSON',
  401: 'Unauthorized: no or bad credentials', 403: 'Forbidden: the associate may not do this', 404: 'Not Found: no such webhook or path',
  409: 'Conflict', 413: 'The request body is larger than BODY_LIMIT_BYTES', 415: 'The request body is not UTF-8 JSON',
  500: 'Internal error (logged; details only with DEBUG_ERRORS)', 503: 'The database cannot be reached (Retry-After)',
};

interface Op {
  id: string;
  summary: string;
  params?: Schema[];
  body?: { name: string; schema: Schema };
  ok: { status: 200; schema: Schema } | { status: 204 };
  /** Descriptions of error statuses particular to the operation (NetServer's own wording where it has one). */
  errors?: Record<number, string>;
  withSelect?: boolean;
  /** Only SO-AppToken among the header parameters (operations without a response body). */
  tokenOnly?: boolean;
}

function operation(tag: string, op: Op): Schema {
  const params: Schema[] = [...(op.params ?? [])];
  if (op.body) params.push({ name: op.body.name, in: 'body', required: true, schema: op.body.schema });
  if (op.withSelect) params.push(select);
  params.push(...(op.tokenOnly ? appToken : headerParams));
  const responses: Record<string, Schema> = op.ok.status === 200
    ? { 200: { description: 'OK', schema: op.ok.schema } }
    : { 204: { description: 'No Content' } };
  // Every operation can answer every error status (a bad body, credentials, a lost database...), with one body.
  for (const status of ERROR_STATUSES) responses[status] = { description: op.errors?.[status] ?? ERROR_TEXT[status] ?? 'Error', schema: ref(ERROR) };
  return {
    tags: [tag], summary: op.summary, operationId: op.id, consumes: op.body ? JSON_IN : [], produces: op.ok.status === 200 ? JSON_OUT : [],
    parameters: params, responses, security,
  };
}

const pathInt = (name: string) => ({ name, in: 'path', required: true, type: 'integer', format: 'int32' });
const queryInt = (name: string) => ({ name, in: 'query', required: true, type: 'integer', format: 'int32' });
const webhook = ref(`${NS}Webhook`);
const withLinks = ref(`${CARRIERS}WebhookWithLinks`);

function restfulPaths(): Record<string, Record<string, Schema>> {
  const t = 'Webhook';
  return {
    '/api/v1/Webhook/default': { get: operation(t, { id: 'v1Webhook_DefaultWebhook', summary: 'A new webhook with default values (not saved)', ok: { status: 200, schema: webhook } }) },
    '/api/v1/Webhook': {
      get: operation(t, {
        id: 'v1Webhook_GetAllWebhooks', summary: 'All webhooks matching the filters',
        params: [{ name: 'nameFilter', in: 'query', required: false, type: 'string' }, { name: 'eventFilter', in: 'query', required: false, type: 'string' },
          { name: 'statusFilter', in: 'query', required: false, type: 'string', enum: [...webhookStates] }],
        withSelect: true, ok: { status: 200, schema: { type: 'array', items: webhook } },
      }),
      post: operation(t, { id: 'v1Webhook_PostWebhook', summary: 'Creates a webhook', body: { name: 'newEntity', schema: webhook }, withSelect: true, ok: { status: 200, schema: withLinks } }),
    },
    '/api/v1/Webhook/{id}': {
      get: operation(t, { id: 'v1Webhook_GetWebhook', summary: 'One webhook', params: [pathInt('id')], withSelect: true, ok: { status: 200, schema: withLinks }, errors: { 404: 'Not Found.' } }),
      put: operation(t, { id: 'v1Webhook_PutWebhook', summary: 'Updates a webhook', params: [pathInt('id')], body: { name: 'entity', schema: webhook }, withSelect: true, ok: { status: 200, schema: withLinks }, errors: { 400: 'Bad request. Entity to save is not in request body.' } }),
      delete: operation(t, { id: 'v1Webhook_DeleteWebhook', summary: 'Deletes a webhook', params: [pathInt('id')], tokenOnly: true, ok: { status: 204 } }),
    },
    '/api/v1/Webhook/Test': { post: operation(t, { id: 'v1Webhook_TestWebhook', summary: 'POSTs a test event to the definition\'s target', body: { name: 'webhook', schema: webhook }, ok: { status: 200, schema: ref(`${NS}WebhookResult`) } }) },
    '/api/v1/Webhook/{eventName}/{primaryKey}': {
      post: operation(t, {
        id: 'v1Webhook_SignalEvent', summary: 'Signals an event to the webhooks subscribed to it',
        params: [{ name: 'eventName', in: 'path', required: true, type: 'string' }, pathInt('primaryKey')],
        body: { name: 'data', schema: objectMap }, tokenOnly: true, ok: { status: 204 },
      }),
    },
    '/api/v1/Webhook/{webhookId}/LastError': { get: operation(t, { id: 'v1Webhook_GetLastError', summary: 'The last error the target answered', params: [pathInt('webhookId')], ok: { status: 200, schema: string } }) },
  };
}

function agentPaths(): Record<string, Record<string, Schema>> {
  const t = 'Agents/Webhook';
  const p = (op: string, o: Omit<Op, 'id'>) => ({ [`/api/v1/Agents/Webhook/${op}`]: { post: operation(t, { id: `v1WebhookAgent_${op}`, ...o }) } });
  const request = (name: string) => ({ name: 'request', schema: ref(`${CARRIERS}${name}`) });
  return {
    ...p('CreateDefaultWebhook', { summary: 'A new webhook with default values (not saved)', ok: { status: 200, schema: webhook } }),
    ...p('SaveWebhook', { summary: 'Creates (WebhookId 0) or updates a webhook', body: { name: 'webhook', schema: webhook }, ok: { status: 200, schema: webhook } }),
    ...p('DeleteWebhook', { summary: 'Deletes a webhook', params: [queryInt('webhookId')], tokenOnly: true, ok: { status: 204 } }),
    ...p('GetWebhook', { summary: 'One webhook (null when there is none)', params: [queryInt('webhookId')], withSelect: true, ok: { status: 200, schema: webhook } }),
    ...p('GetAllWebhooks', { summary: 'All webhooks matching the filters', body: request('GetAllWebhooksRequest'), withSelect: true, ok: { status: 200, schema: { type: 'array', items: webhook } } }),
    ...p('TestWebhook', { summary: 'POSTs a test event to the definition\'s target', body: request('TestWebhookRequest'), withSelect: true, ok: { status: 200, schema: ref(`${NS}WebhookResult`) } }),
    ...p('SignalEvent', { summary: 'Signals an event to the webhooks subscribed to it', body: request('SignalEventRequest'), withSelect: true, tokenOnly: true, ok: { status: 204 } }),
    ...p('GetLastError', { summary: 'The last error the target answered', body: request('GetLastErrorRequest'), withSelect: true, ok: { status: 200, schema: string } }),
  };
}

function document(face: 'Webhook' | 'WebhookAgent', req: Request): Schema {
  const definitions: Record<string, Schema> = { ...commonDefinitions };
  if (face === 'Webhook') {
    definitions[`${CARRIERS}WebhookWithLinks`] = object({ ...nullableMembers(webhookMembers), _Links: stringMap }, 'A webhook with links to itself.');
  } else {
    // GetWebhook answers null for a webhook that does not exist.
    definitions[`${NS}Webhook`] = nullableDefinition(definitions[`${NS}Webhook`] as Schema);
    definitions[`${CARRIERS}GetAllWebhooksRequest`] = object(nullableMembers({ NameFilter: string, EventFilter: string, StatusFilter: enumOf(webhookStates) }));
    definitions[`${CARRIERS}TestWebhookRequest`] = object({ Webhook: webhook });
    definitions[`${CARRIERS}SignalEventRequest`] = object({ EventName: string, PrimaryKey: int, Data: nullable(objectMap) });
    definitions[`${CARRIERS}GetLastErrorRequest`] = object({ WebhookId: int });
  }
  // basePath is where /api/v1 is mounted, so that the documented paths resolve against the URL called.
  const mount = req.baseUrl.replace(/\/api\/v1$/i, '');
  return {
    swagger: '2.0',
    info: { version: 'v1', title: face === 'Webhook' ? 'Webhook agent: RESTful API' : 'Webhook agent: Agents API',
      description: 'webhook-agent, a NetServer-compatible Webhook agent' },
    host: req.host,
    basePath: mount || '/',
    schemes: [req.protocol],
    paths: face === 'Webhook' ? restfulPaths() : agentPaths(),
    definitions,
    securityDefinitions: { Password: { type: 'basic', description: 'Basic base64(user:password), SOTicket 7T:..., or an unencoded 7T: ticket' } },
  };
}

export function swaggerRoutes(): Router {
  const r = express.Router({ caseSensitive: false });
  r.get('/swagger', (req, res) => {
    const base = `${req.protocol}://${req.host}${req.baseUrl}/swagger`;
    res.json({ documents: [{ name: 'Webhook', url: `${base}/Webhook.json` }, { name: 'WebhookAgent', url: `${base}/WebhookAgent.json` }] });
  });
  r.get('/swagger/:face.json', (req, res, next) => {
    const face = req.params.face?.toLowerCase() === 'webhook' ? 'Webhook' : req.params.face?.toLowerCase() === 'webhookagent' ? 'WebhookAgent' : null;
    if (!face) return next();
    res.json(document(face, req));
  });
  return r;
}
