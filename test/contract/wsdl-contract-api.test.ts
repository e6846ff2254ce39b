// contractFor(): the API the SOAP edge and the serializer use instead of parsing XML.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStringPromise } from 'xml2js';
import {
  ARRAYS, clark, contractFor, setWsdlAddress, XS, type ComplexTypeInfo, type Contract,
} from '../../src/contract/index.js';

const complex = (c: Contract, name: string): ComplexTypeInfo => {
  const t = c.typeNamed(name);
  assert.ok(t && t.kind === 'complex', `${name} is a complex type`);
  return t;
};
const names = (t: ComplexTypeInfo) => t.elements.map((e) => e.name);

interface Raw { $?: Record<string, string>; [child: string]: unknown }
const kids = (node: Raw, name: string): Raw[] => (node[name] as Raw[] | undefined) ?? [];

describe('contractFor', () => {
  test('operations agree with the rendered WSDL binding and messages', async () => {
    for (const [service, version] of [['Webhook', 85], ['Webhook', 88], ['SoPrincipal', 88]] as const) {
      const c = contractFor(service, version);
      const doc = (await parseStringPromise(c.wsdlXml))['wsdl:definitions'] as Raw;
      const parts = new Map(kids(doc, 'wsdl:message').map((m) =>
        [m.$!.name, kids(m, 'wsdl:part').map((p) => [p.$!.name, p.$!.element])]));
      const ops = kids(kids(doc, 'wsdl:binding')[0], 'wsdl:operation');
      assert.deepEqual(c.operations.map((o) => o.name), ops.map((o) => o.$!.name));
      for (const [i, op] of c.operations.entries()) {
        assert.equal(op.soapAction, kids(ops[i], 'soap:operation')[0].$!.soapAction);
        const port = kids(kids(doc, 'wsdl:portType')[0], 'wsdl:operation')[i];
        const [input, output] = [kids(port, 'wsdl:input')[0].$!, kids(port, 'wsdl:output')[0].$!];
        assert.equal(op.soapAction, input['wsaw:Action']);
        assert.equal(op.outputAction, output['wsaw:Action']);
        assert.deepEqual(parts.get(input.message.slice(4)), [['parameters', `tns:${op.inputElement}`]]);
        assert.deepEqual(parts.get(output.message.slice(4)), [['parameters', `tns:${op.outputElement}`]]);
        assert.deepEqual(parts.get(`${input.name}_Headers`)!.map(([n]) => n), op.requestHeaders);
        assert.deepEqual(parts.get(`${output.name}_Headers`)!.map(([n]) => n), op.responseHeaders);
      }
    }
  });

  test('Webhook and SoPrincipal operations', () => {
    const w = contractFor('Webhook', 86);
    assert.equal(w.tns, 'http://www.superoffice.net/ws/crm/NetServer/Services86');
    assert.deepEqual(w.operations.map((o) => o.name), ['CreateDefaultWebhook', 'SaveWebhook', 'DeleteWebhook',
      'GetWebhook', 'GetAllWebhooks', 'TestWebhook', 'SignalEvent', 'GetLastError']);
    const get = w.operations.find((o) => o.name === 'GetWebhook')!;
    assert.deepEqual({ ...get }, {
      name: 'GetWebhook',
      soapAction: 'http://www.superoffice.net/ws/crm/NetServer/Services86/Webhook/GetWebhook',
      outputAction: 'http://www.superoffice.net/ws/crm/NetServer/Services86/Webhook/GetWebhookResponse',
      inputElement: 'GetWebhook',
      outputElement: 'GetWebhookResponse',
      requestHeaders: ['ApplicationToken', 'Credentials', 'TimeZone'],
      responseHeaders: ['ExceptionInfo', 'ExtraInfo', 'Succeeded', 'TimeZone'],
    });
    const p = contractFor('SoPrincipal', 88);
    const auth = p.operations.find((o) => o.name === 'AuthenticateUsernamePassword')!;
    assert.equal(auth.outputElement, 'AuthenticateResponse');
    assert.equal(auth.outputAction, `${auth.soapAction}Response`);
    assert.deepEqual(auth.requestHeaders, ['ApplicationToken']);
    assert.throws(() => contractFor('SoPrincipal', 87), /not part of Services87/);
  });

  test('one soap:address, replaceable', () => {
    const c = contractFor('Webhook', 88);
    assert.equal(c.wsdlXml.match(/<soap:address /g)?.length, 1);
    const moved = setWsdlAddress(c.wsdlXml, 'https://h.test/t/Remote/Services88/Webhook.svc?a=1&b=$1');
    assert.match(moved, /<soap:address location="https:\/\/h\.test\/t\/Remote\/Services88\/Webhook\.svc\?a=1&amp;b=\$1"\/>/);
    assert.doesNotMatch(moved, /localhost/);
  });

  test('types carry version differences, base members first', () => {
    const [c85, c86, c88] = [contractFor('Webhook', 85), contractFor('Webhook', 86), contractFor('Webhook', 88)];
    const head = ['TableRight', 'FieldProperties', 'AssociateId', 'Name', 'PersonId', 'Rank', 'Tooltip', 'Type',
      'GroupIdx', 'FullName', 'FormalName', 'Deleted', 'EjUserId'];
    assert.deepEqual(names(complex(c85, 'Associate')), head);
    assert.deepEqual(names(complex(c86, 'Associate')), [...head, 'UserName']);
    assert.deepEqual(names(complex(c88, 'Associate')), [...head, 'UserName', 'ExtraFields', 'CustomFields']);
    assert.equal(names(complex(c85, 'Webhook')).at(-1), 'UpdatedAssociate');
    assert.equal(names(complex(c88, 'Webhook')).length, 23);
    assert.equal(c85.typeNamed('MDOListItem'), undefined);
    assert.ok(c88.typeNamed('MDOListItem'));
    const rights = (c: Contract) => (c.typeNamed('ETableRight') as { values: readonly string[] }).values;
    assert.deepEqual(rights(c85).slice(-1), ['RestrictedUpdate']);
    assert.deepEqual(rights(c88).slice(-2), ['R', 'F']);

    const rank = complex(c88, 'Associate').elements.find((e) => e.name === 'Rank')!;
    assert.deepEqual(rank, { name: 'Rank', ns: c88.tns, type: { ns: XS, name: 'short' }, minOccurs: 0, maxOccurs: 1, nillable: false });
    const events = complex(c88, 'Webhook').elements[2];
    assert.deepEqual(events.type, { ns: ARRAYS, name: 'ArrayOfstring' });
    const item = complex(c88, 'ArrayOfstring').item!;
    assert.deepEqual(item, { name: 'string', ns: ARRAYS, type: { ns: XS, name: 'string' }, minOccurs: 0, maxOccurs: 'unbounded', nillable: true });
    assert.equal(c88.types.get(clark(events.type)), c88.typeNamed('ArrayOfstring'));
  });

  test('dictionaries, wrappers and headers', () => {
    const c = contractFor('Webhook', 88);
    const dict = complex(c, 'StringObjectDictionary');
    assert.equal(dict.isDictionary, true);
    assert.equal(dict.item?.name, 'StringObjectKeyValuePair');
    const pair = c.types.get(clark(dict.item!.type)) as ComplexTypeInfo;
    assert.equal(pair.anonymous, true);
    assert.deepEqual(pair.elements.map((e) => [e.name, e.type.name, e.minOccurs, e.nillable]),
      [['Key', 'string', 1, true], ['Value', 'anyType', 1, true]]);

    const wrapper = c.elements.get('GetAllWebhooksResponse')!;
    const body = c.types.get(clark(wrapper.type)) as ComplexTypeInfo;
    assert.deepEqual(body.elements.map((e) => [e.name, e.type.name]), [['Response', 'ArrayOfWebhook']]);
    assert.equal(complex(c, 'ArrayOfWebhook').item?.name, 'Webhook');
    assert.deepEqual(complex(c, 'WebhookResult').base, { ns: c.tns, name: 'Carrier' });
    assert.equal(c.elements.get('Succeeded')?.nillable, false);
    assert.equal(c.elements.get('ExceptionInfo')?.nillable, true);
    assert.deepEqual(c.elements.get('Credentials')?.type, { ns: c.tns, name: 'SoCredentials' });
  });
});
