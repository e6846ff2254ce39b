/**
 * SOAP 1.1 requests built from the project's own contract: the full sample request of each operation generated from
 * our WSDL (sample-requests.ts: every member, one item per list, placeholder values), with real values filled in,
 * keeping every element the sample carries (as Mono WCF sends every member). No file of ../shared is needed, so the
 * suites built on these run on any clone.
 */
import {
  childElements, clone, findFirst, localName, mustFind, parseXml, removeChild, serialize, setAttr, setText,
  type XmlElement,
} from './xml-tree.js';
import { sampleRequestXml } from './sample-requests.js';

export const NS88 = 'http://www.superoffice.net/ws/crm/NetServer/Services88';
export const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';

export const webhookOperations = [
  'CreateDefaultWebhook', 'SaveWebhook', 'DeleteWebhook', 'GetWebhook', 'GetAllWebhooks', 'TestWebhook', 'SignalEvent',
  'GetLastError',
] as const;
export type WebhookOperation = (typeof webhookOperations)[number];
export type Operation = WebhookOperation | 'AuthenticateUsernamePassword';
export const allOperations: Operation[] = [...webhookOperations, 'AuthenticateUsernamePassword'];

export const WEBHOOK_PATH = '/Remote/Services88/Webhook.svc';
export const PRINCIPAL_PATH = '/Remote/Services88/SoPrincipal.svc';

export function endpointPath(op: Operation): string {
  return op === 'AuthenticateUsernamePassword' ? PRINCIPAL_PATH : WEBHOOK_PATH;
}

export function soapAction(op: Operation): string {
  return `${NS88}/${op === 'AuthenticateUsernamePassword' ? 'SoPrincipal' : 'Webhook'}/${op}`;
}

const templates = new Map<Operation, XmlElement>();

/** The operation's sample request as a SOAP 1.1 envelope tree (a fresh copy each call). */
export function template(op: Operation): XmlElement {
  let t = templates.get(op);
  if (!t) {
    t = parseXml(sampleRequestXml(op === 'AuthenticateUsernamePassword' ? 'SoPrincipal' : 'Webhook', op));
    templates.set(op, t);
  }
  return clone(t);
}

export interface BuiltRequest {
  op: Operation;
  path: string;
  action: string;
  xml: string;
}

export function bodyElement(env: XmlElement): XmlElement {
  const body = mustFind(env, ['Body']);
  const el = childElements(body)[0];
  if (!el) throw new Error('empty Body');
  return el;
}

/** Sets the ticket (or removes Credentials when null). */
export function setTicket(env: XmlElement, ticket: string | null): void {
  const creds = findFirst(mustFind(env, ['Header']), 'Credentials');
  if (!creds) return;
  if (ticket === null) removeChild(mustFind(env, ['Header']), creds);
  else setText(mustFind(creds, ['Ticket']), ticket);
}

function setField(parent: XmlElement, name: string, value: string | number | boolean): void {
  setText(mustFind(parent, [name]), String(value));
}

/** Replaces the items of a list element with one copy of its first item per value. */
function setList(listEl: XmlElement, values: string[]): void {
  const proto = childElements(listEl)[0];
  listEl.children = values.map((v) => {
    const item = clone(proto);
    setText(item, v);
    return item;
  });
}

export type PropertyInput = { type: 'string' | 'int' | 'boolean' | 'double' | 'dateTime'; value: string };

/** Fills a StringObjectDictionary (or removes its entries when empty). */
function setObjectDictionary(dict: XmlElement, entries: Record<string, PropertyInput>): void {
  const proto = childElements(dict)[0];
  dict.children = Object.entries(entries).map(([k, v]) => {
    const pair = clone(proto);
    setField(pair, 'Key', k);
    const val = mustFind(pair, ['Value']);
    setAttr(val, 'xsi:type', `xsd:${v.type}`);
    setText(val, v.value);
    return pair;
  });
}

function setStringDictionary(dict: XmlElement, entries: Record<string, string>): void {
  const proto = childElements(dict)[0];
  dict.children = Object.entries(entries).map(([k, v]) => {
    const pair = clone(proto);
    setField(pair, 'Key', k);
    setField(pair, 'Value', v);
    return pair;
  });
}

export interface WebhookFields {
  webhookId?: number;
  name: string;
  events: string[];
  targetUrl: string;
  secret?: string;
  state?: 'Unknown' | 'Active' | 'Stopped' | 'TooManyErrors';
  type?: string;
  headers?: Record<string, string>;
  properties?: Record<string, PropertyInput>;
  errorsEmail?: string;
  errorEmails?: string[];
  description?: string;
}

/** Fills the example's Webhook element; server-owned members keep the example's placeholders. */
export function fillWebhook(hook: XmlElement, f: WebhookFields): void {
  setField(hook, 'WebhookId', f.webhookId ?? 0);
  setField(hook, 'Name', f.name);
  setList(mustFind(hook, ['Events']), f.events);
  setField(hook, 'TargetUrl', f.targetUrl);
  setField(hook, 'Secret', f.secret ?? '');
  setField(hook, 'State', f.state ?? 'Active');
  setField(hook, 'Type', f.type ?? 'webhook');
  setStringDictionary(mustFind(hook, ['Headers']), f.headers ?? {});
  setObjectDictionary(mustFind(hook, ['Properties']), f.properties ?? {});
  setField(hook, 'ErrorsEmail', f.errorsEmail ?? '');
  const emails = hook.children.find((c) => 'name' in c && localName(c.name) === 'ErrorEmails') as XmlElement | undefined;
  if (emails) setList(emails, f.errorEmails ?? []);
  // The example's ErrorAssociates names associate 0 (nobody); an empty list is what a caller without them sends.
  const assoc = hook.children.find((c) => 'name' in c && localName(c.name) === 'ErrorAssociates') as XmlElement | undefined;
  if (assoc) assoc.children = [];
  const desc = hook.children.find((c) => 'name' in c && localName(c.name) === 'Description') as XmlElement | undefined;
  if (desc) setText(desc, f.description ?? '');
  // NotifyVia=Email without addresses is the example's placeholder, not a request anybody means.
  const via = hook.children.find((c) => 'name' in c && localName(c.name) === 'NotifyVia') as XmlElement | undefined;
  if (via) setText(via, '');
  const when = hook.children.find((c) => 'name' in c && localName(c.name) === 'NotifyWhen') as XmlElement | undefined;
  if (when) setText(when, '');
}

export type RequestInput =
  | { op: 'CreateDefaultWebhook' }
  | { op: 'SaveWebhook' | 'TestWebhook'; webhook: WebhookFields }
  | { op: 'DeleteWebhook' | 'GetWebhook' | 'GetLastError'; webhookId: number }
  | { op: 'GetAllWebhooks'; nameFilter?: string; eventFilter?: string; statusFilter?: string }
  | { op: 'SignalEvent'; eventName: string; primaryKey: number; data?: Record<string, PropertyInput> }
  | { op: 'AuthenticateUsernamePassword'; userName: string; password: string };

/** The request as a tree, for callers that mutate it further. */
export function requestTree(input: RequestInput, ticket: string | null): XmlElement {
  const env = template(input.op);
  if (input.op !== 'AuthenticateUsernamePassword') setTicket(env, ticket);
  const op = bodyElement(env);
  switch (input.op) {
    case 'CreateDefaultWebhook':
      break;
    case 'SaveWebhook':
    case 'TestWebhook':
      fillWebhook(mustFind(op, ['Webhook']), input.webhook);
      break;
    case 'DeleteWebhook':
    case 'GetWebhook':
    case 'GetLastError':
      setField(op, 'WebhookId', input.webhookId);
      break;
    case 'GetAllWebhooks':
      setField(op, 'NameFilter', input.nameFilter ?? '');
      setField(op, 'EventFilter', input.eventFilter ?? '');
      setField(op, 'StatusFilter', input.statusFilter ?? 'Unknown');
      break;
    case 'SignalEvent':
      setField(op, 'EventName', input.eventName);
      setField(op, 'PrimaryKey', input.primaryKey);
      setObjectDictionary(mustFind(op, ['Data']), input.data ?? {});
      break;
    case 'AuthenticateUsernamePassword':
      setField(op, 'UserName', input.userName);
      setField(op, 'Password', input.password);
      break;
  }
  return env;
}

export function buildRequest(input: RequestInput, ticket: string | null): BuiltRequest {
  return fromTree(input.op, requestTree(input, ticket));
}

export function fromTree(op: Operation, env: XmlElement): BuiltRequest {
  return { op, path: endpointPath(op), action: soapAction(op), xml: `<?xml version="1.0" encoding="utf-8"?>\n${serialize(env)}` };
}
