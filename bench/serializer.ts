/**
 * Micro-benchmark: building the GetAllWebhooksResponse body for 100 webhooks with our compiled serializer versus
 * node-soap's schema-aware objectToDocumentXML (the type passed, as its client does; what a node-soap server would
 * need for a correct element order) and, for reference, node-soap's stock untyped call and JSON.stringify.
 * Prints ms per body and ratios measured in this run; absolute numbers depend on the machine.
 *
 *   node --disable-proto=delete --import tsx bench/serializer.ts [iterations-per-round]
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import soap from 'soap';
import { loadWsdlContract } from '../src/soap/wsdl-contract.js';
import { compileSerializer } from '../src/soap/compiled-serializer.js';

const XSD = 'http://www.w3.org/2001/XMLSchema';
const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

function wsdlText(): string {
  const own = path.join(root, 'wsdl', 'Services88-Webhook.wsdl');
  return readFileSync(existsSync(own) ? own : path.resolve(root, '../shared/reference/wsdl/Services88-Webhook.wsdl'), 'utf8');
}

/** 100 realistic webhooks in our serializer's input form. */
function webhooks(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    WebhookId: i + 1,
    Name: `webhook number ${i + 1} for contact & sale events`,
    Events: ['contact.created', 'contact.changed', 'sale.created', 'sale.changed'],
    TargetUrl: `https://hooks.example.com/superoffice/${i + 1}?tenant=Cust12345&kind=crm`,
    Secret: null,
    State: i % 7 === 0 ? 'Stopped' : 'Active',
    Type: 'webhook',
    Headers: [{ Key: 'X-Tenant', Value: 'Cust12345' }, { Key: 'X-Hook', Value: String(i + 1) }],
    Properties: [{ Key: 'source', Value: 'crm' }, { Key: 'priority', Value: i % 5 }, { Key: 'enabled', Value: true }],
    Registered: new Date(Date.UTC(2023, 10, 5, 14, 3, 27, 123)),
    RegisteredAssociate: {
      TableRight: { Mask: ['Select', 'Update', 'Insert', 'Delete', 'Filtering'], Reason: '' },
      FieldProperties: null, AssociateId: 5, Name: 'SAL', PersonId: 12, Rank: 3, Tooltip: 'Salesman', Type: 'InternalAssociate',
      GroupIdx: 2, FullName: 'Sally Salesman', FormalName: 'Salesman, Sally', Deleted: false, EjUserId: 0, UserName: 'sal',
      ExtraFields: [], CustomFields: null,
    },
    Updated: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    UpdatedAssociate: null,
    ErrorsEmail: 'ops@example.com',
    ErrorEmails: ['ops@example.com', 'dev@example.com'],
    ErrorAssociates: [],
    Description: `Forwards CRM events to integration ${i + 1}`,
    NotifyVia: ['Email'],
    NotifyWhen: ['FirstFailure', 'Disabling'],
    TotalCalls: 1000 + i,
    TotalErrors: i,
    ConsecutiveErrors: 0,
    LastError: i % 3 === 0 ? 'HTTP 500 Internal Server Error' : null,
  }));
}

/** The same data in the shape node-soap's serializer needs (its `toWire`), prepared outside the timed loop. */
function toNodeSoap(list: Array<Record<string, unknown>>): unknown {
  const xsiType = (type: string) => ({ xsi_type: { type, xmlns: XSD } });
  const anyValue = (v: unknown) =>
    typeof v === 'number' ? { attributes: xsiType('int'), $value: v }
      : typeof v === 'boolean' ? { attributes: xsiType('boolean'), $value: v }
        : { attributes: xsiType('string'), $value: v };
  return {
    Response: {
      Webhook: list.map((w) => ({
        ...w,
        Events: { string: w.Events },
        ErrorEmails: { string: w.ErrorEmails },
        ErrorAssociates: {},
        Headers: { StringKeyValuePair: w.Headers },
        Properties: {
          StringObjectKeyValuePair: (w.Properties as Array<{ Key: string; Value: unknown }>).map((p) => ({ Key: p.Key, Value: anyValue(p.Value) })),
        },
        Registered: (w.Registered as Date).toISOString(),
        Updated: (w.Updated as Date).toISOString(),
        NotifyVia: (w.NotifyVia as string[]).join(' '),
        NotifyWhen: (w.NotifyWhen as string[]).join(' '),
        RegisteredAssociate: {
          ...(w.RegisteredAssociate as Record<string, unknown>),
          TableRight: { Mask: 'Select Update Insert Delete Filtering', Reason: '' },
          ExtraFields: {},
        },
      })),
    },
  };
}

function loadNodeSoapWsdl(xml: string): Promise<{ objectToDocumentXML: (...a: unknown[]) => string }> {
  return new Promise((resolve, reject) => {
    const w = new soap.WSDL(xml, 'inline', { handleNilAsNull: true }) as unknown as {
      onReady(cb: (e?: unknown) => void): void;
      objectToDocumentXML: (...a: unknown[]) => string;
    };
    w.onReady((e) => (e ? reject(e) : resolve(w)));
  });
}

function measure(name: string, iterations: number, fn: () => string): { name: string; ms: number; bytes: number } {
  let out = '';
  for (let i = 0; i < Math.max(3, iterations / 10); i++) out = fn(); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) out = fn();
    rounds.push(Number(process.hrtime.bigint() - t0) / 1e6 / iterations);
  }
  rounds.sort((a, b) => a - b);
  return { name, ms: rounds[2], bytes: Buffer.byteLength(out) }; // median round
}

export async function runSerializerBench(iterations = 50): Promise<void> {
  const xml = wsdlText();
  const contract = await loadWsdlContract(xml);
  const ours = compileSerializer(contract.model).elementWriter('GetAllWebhooksResponse');
  const nodeSoap = await loadNodeSoapWsdl(xml);
  const tns = contract.targetNamespace;
  const list = webhooks(100);
  const ns = toNodeSoap(list);

  const results = [
    measure('compiled serializer', iterations, () => ours({ Response: list })),
    measure('node-soap objectToDocumentXML (schema-aware)', Math.ceil(iterations / 5), () =>
      nodeSoap.objectToDocumentXML('GetAllWebhooksResponse', ns, 'tns', tns, 'tns:GetAllWebhooksResponse')),
    measure('node-soap objectToDocumentXML (stock, untyped)', Math.ceil(iterations / 2), () =>
      nodeSoap.objectToDocumentXML('GetAllWebhooksResponse', ns, 'tns', tns)),
    measure('JSON.stringify (floor)', iterations, () => JSON.stringify(list)),
  ];
  const base = results[0].ms;
  console.log('GetAllWebhooksResponse, 100 webhooks (median of 5 rounds)');
  for (const r of results) {
    console.log(`  ${r.name.padEnd(48)} ${r.ms.toFixed(3).padStart(9)} ms/body ${String(r.bytes).padStart(8)} bytes  x${(r.ms / base).toFixed(2)} of compiled`);
  }
  console.log(`ratio schema-aware node-soap / compiled: ${(results[1].ms / base).toFixed(1)}x`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runSerializerBench(Number(process.argv[2] ?? 50));
}
