// contractFor() and the schema model node-soap loads from its WSDL: the one typed view of the contract, from which
// the serializer and the request reader are compiled (soap/schema-model.ts, soap/wsdl-contract.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStringPromise } from 'xml2js';
import { ARRAYS, contractFor, setWsdlAddress, type Contract } from '../../src/contract/index.js';
import { loadWsdlContract, type WsdlContract } from '../../src/soap/wsdl-contract.js';
import type { ComplexType, TypeDesc } from '../../src/soap/schema-model.js';

const loaded = new Map<Contract, Promise<WsdlContract>>();
const load = (c: Contract): Promise<WsdlContract> => {
  if (!loaded.has(c)) loaded.set(c, loadWsdlContract(c.wsdlXml));
  return loaded.get(c)!;
};
const complex = (w: WsdlContract, name: string): ComplexType => {
  const t = w.model.typeNamed(name);
  assert.ok(t && t.kind === 'complex', `${name} is a complex type`);
  return t;
};
const names = (t: TypeDesc) => (t.kind === 'complex' ? t.fields.map((e) => e.name) : []);

interface Raw { $?: Record<string, string>; [child: string]: unknown }
const kids = (node: Raw, name: string): Raw[] => (node[name] as Raw[] | undefined) ?? [];

describe('contractFor and the loaded schema model', () => {
  test('operations agree with the rendered WSDL binding and messages', async () => {
    for (const [service, version] of [['Webhook', 85], ['Webhook', 88], ['SoPrincipal', 88]] as const) {
      const c = contractFor(service, version);
      const w = await load(c);
      const doc = (await parseStringPromise(c.wsdlXml))['wsdl:definitions'] as Raw;
      const parts = new Map(kids(doc, 'wsdl:message').map((m) =>
        [m.$!.name, kids(m, 'wsdl:part').map((p) => [p.$!.name, p.$!.element])]));
      const ops = kids(kids(doc, 'wsdl:binding')[0], 'wsdl:operation');
      assert.deepEqual(c.operations, ops.map((o) => o.$!.name));
      assert.deepEqual([...w.operations.keys()], c.operations);
      for (const [i, name] of c.operations.entries()) {
        const op = w.operations.get(name)!;
        assert.equal(op.soapAction, kids(ops[i], 'soap:operation')[0].$!.soapAction);
        const port = kids(kids(doc, 'wsdl:portType')[0], 'wsdl:operation')[i];
        const [input, output] = [kids(port, 'wsdl:input')[0].$!, kids(port, 'wsdl:output')[0].$!];
        assert.equal(op.soapAction, input['wsaw:Action']);
        assert.equal(`${op.soapAction}Response`, output['wsaw:Action']);
        assert.deepEqual(parts.get(input.message.slice(4)), [['parameters', `tns:${op.input.name}`]]);
        assert.deepEqual(parts.get(output.message.slice(4)), [['parameters', `tns:${op.output.name}`]]);
        assert.deepEqual(parts.get(`${input.name}_Headers`)!.map(([n]) => n), op.requestHeaders.map((h) => h.name));
        assert.deepEqual(parts.get(`${output.name}_Headers`)!.map(([n]) => n), op.responseHeaders.map((h) => h.name));
      }
    }
  });

  test('Webhook and SoPrincipal operations', async () => {
    const c = contractFor('Webhook', 86);
    assert.equal(c.tns, 'http://www.superoffice.net/ws/crm/NetServer/Services86');
    assert.deepEqual(c.operations, ['CreateDefaultWebhook', 'SaveWebhook', 'DeleteWebhook',
      'GetWebhook', 'GetAllWebhooks', 'TestWebhook', 'SignalEvent', 'GetLastError']);
    const get = (await load(c)).operations.get('GetWebhook')!;
    assert.equal(get.soapAction, 'http://www.superoffice.net/ws/crm/NetServer/Services86/Webhook/GetWebhook');
    assert.deepEqual([get.input.name, get.output.name], ['GetWebhook', 'GetWebhookResponse']);
    assert.deepEqual(get.requestHeaders.map((h) => h.name), ['ApplicationToken', 'Credentials', 'TimeZone']);
    assert.deepEqual(get.responseHeaders.map((h) => h.name), ['ExceptionInfo', 'ExtraInfo', 'Succeeded', 'TimeZone']);
    const auth = (await load(contractFor('SoPrincipal', 88))).operations.get('AuthenticateUsernamePassword')!;
    assert.equal(auth.output.name, 'AuthenticateResponse');
    assert.deepEqual(auth.requestHeaders.map((h) => h.name), ['ApplicationToken']);
    assert.throws(() => contractFor('SoPrincipal', 87), /not part of Services87/);
  });

  test('one soap:address, replaceable', () => {
    const c = contractFor('Webhook', 88);
    assert.equal(c.wsdlXml.match(/<soap:address /g)?.length, 1);
    const moved = setWsdlAddress(c.wsdlXml, 'https://h.test/t/Remote/Services88/Webhook.svc?a=1&b=$1');
    assert.match(moved, /<soap:address location="https:\/\/h\.test\/t\/Remote\/Services88\/Webhook\.svc\?a=1&amp;b=\$1"\/>/);
    assert.doesNotMatch(moved, /localhost/);
  });

  test('types carry version differences, base members first', async () => {
    const [c85, c86, c88] = await Promise.all([85, 86, 88].map((v) => load(contractFor('Webhook', v as 85))));
    const head = ['TableRight', 'FieldProperties', 'AssociateId', 'Name', 'PersonId', 'Rank', 'Tooltip', 'Type',
      'GroupIdx', 'FullName', 'FormalName', 'Deleted', 'EjUserId'];
    assert.deepEqual(names(complex(c85, 'Associate')), head);
    assert.deepEqual(names(complex(c86, 'Associate')), [...head, 'UserName']);
    assert.deepEqual(names(complex(c88, 'Associate')), [...head, 'UserName', 'ExtraFields', 'CustomFields']);
    assert.equal(names(complex(c85, 'Webhook')).at(-1), 'UpdatedAssociate');
    assert.equal(names(complex(c88, 'Webhook')).length, 23);
    assert.equal(c85.model.typeNamed('MDOListItem'), undefined);
    assert.ok(c88.model.typeNamed('MDOListItem'));
    const rights = (w: WsdlContract) => {
      const t = w.model.typeNamed('ETableRight');
      assert.ok(t?.kind === 'list' && t.values);
      return [...t.values];
    };
    assert.deepEqual(rights(c85).slice(-1), ['RestrictedUpdate']);
    assert.deepEqual(rights(c88).slice(-2), ['R', 'F']);

    const rank = complex(c88, 'Associate').fields.find((e) => e.name === 'Rank')!;
    assert.deepEqual({ ...rank, type: rank.type.kind === 'scalar' ? rank.type.xsdName : rank.type.kind },
      { name: 'Rank', ns: c88.targetNamespace, type: 'short', minOccurs: 0, repeated: false, nillable: false });
    const events = complex(c88, 'Webhook').fields[2];
    assert.equal(events.type, c88.model.typeNamed('ArrayOfstring'));
    const arrayOfString = complex(c88, 'ArrayOfstring');
    assert.equal(arrayOfString.ns, ARRAYS);
    const item = arrayOfString.collection!.item;
    assert.deepEqual([item.name, item.ns, item.repeated, item.nillable, item.minOccurs], ['string', ARRAYS, true, true, 0]);
  });

  test('dictionaries, wrappers and headers', async () => {
    const w = await load(contractFor('Webhook', 88));
    const dict = complex(w, 'StringObjectDictionary');
    assert.equal(dict.collection?.dictionary, true);
    assert.equal(dict.collection?.item.name, 'StringObjectKeyValuePair');
    const pair = dict.collection!.item.type as ComplexType;
    assert.equal(pair.name, null, 'the pair type is anonymous');
    assert.deepEqual(pair.fields.map((e) => [e.name, e.type.kind, e.minOccurs, e.nillable]),
      [['Key', 'scalar', 1, true], ['Value', 'any', 1, true]]);

    const body = w.model.element('GetAllWebhooksResponse')!.type as ComplexType;
    assert.deepEqual(body.fields.map((e) => [e.name, (e.type as ComplexType).name]), [['Response', 'ArrayOfWebhook']]);
    assert.equal(complex(w, 'ArrayOfWebhook').collection?.item.name, 'Webhook');
    assert.deepEqual(names(complex(w, 'WebhookResult')).slice(0, 2), names(complex(w, 'Carrier')));
    assert.equal(w.model.element('Succeeded')?.nillable, false);
    assert.equal(w.model.element('ExceptionInfo')?.nillable, true);
    assert.equal((w.model.element('Credentials')?.type as ComplexType).name, 'SoCredentials');
  });
});
