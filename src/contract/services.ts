// The two endpoints: global elements (headers, body wrappers) and operations, in WSDL order.
import type { ElementDef, OperationDef, ServiceDef, ServiceName, TopElementDef } from './model.js';

const HEADER_ELEMENTS: readonly TopElementDef[] = [
  { name: 'ApplicationToken', type: 'xs:string', nillable: true },
  { name: 'Credentials', type: 'tns:SoCredentials', nillable: true },
  { name: 'TimeZone', type: 'tns:SoTimeZone', nillable: true },
  { name: 'ExceptionInfo', type: 'tns:SoExceptionInfo', nillable: true },
  { name: 'ExtraInfo', type: 'tns:SoExtraInfo', nillable: true },
  // The one header that is not nillable: every response says whether it succeeded.
  { name: 'Succeeded', type: 'xs:boolean' },
];

const RESPONSE_HEADERS = ['ExceptionInfo', 'ExtraInfo', 'Succeeded', 'TimeZone'];

const webhookResponse: ElementDef = { name: 'Response', type: 'tns:Webhook', nillable: true };
const webhookId: ElementDef = { name: 'WebhookId', type: 'xs:int' };

/** Request and response wrappers of one operation, named Op and OpResponse. */
function pair(name: string, input: readonly ElementDef[], output: readonly ElementDef[]): TopElementDef[] {
  return [{ name, inline: input }, { name: `${name}Response`, inline: output }];
}

const webhookOps = ['CreateDefaultWebhook', 'SaveWebhook', 'DeleteWebhook', 'GetWebhook', 'GetAllWebhooks',
  'TestWebhook', 'SignalEvent', 'GetLastError'];

export const WEBHOOK_SERVICE: ServiceDef = {
  name: 'Webhook',
  versions: [85, 86, 87, 88],
  wsdlName: 'WcfWebhookService',
  portType: 'Webhook',
  binding: 'BasicHttpBinding_Webhook',
  requestHeaders: ['ApplicationToken', 'Credentials', 'TimeZone'],
  responseHeaders: RESPONSE_HEADERS,
  elements: [
    ...HEADER_ELEMENTS,
    ...pair('CreateDefaultWebhook', [], [webhookResponse]),
    ...pair('SaveWebhook', [{ name: 'Webhook', type: 'tns:Webhook', nillable: true }], [webhookResponse]),
    ...pair('DeleteWebhook', [webhookId], []),
    ...pair('GetWebhook', [webhookId], [webhookResponse]),
    ...pair('GetAllWebhooks', [
      { name: 'NameFilter', type: 'xs:string', nillable: true },
      { name: 'EventFilter', type: 'xs:string', nillable: true },
      { name: 'StatusFilter', type: 'tns:WebhookState' },
    ], [{ name: 'Response', type: 'tns:ArrayOfWebhook', nillable: true }]),
    ...pair('TestWebhook', [{ name: 'Webhook', type: 'tns:Webhook', nillable: true }],
      [{ name: 'Response', type: 'tns:WebhookResult', nillable: true }]),
    ...pair('SignalEvent', [
      { name: 'EventName', type: 'xs:string', nillable: true },
      { name: 'PrimaryKey', type: 'xs:int' },
      { name: 'Data', type: 'tns:StringObjectDictionary', nillable: true },
    ], []),
    ...pair('GetLastError', [webhookId], [{ name: 'Response', type: 'xs:string', nillable: true }]),
  ],
  operations: webhookOps.map((name): OperationDef => ({ name, input: name, output: `${name}Response` })),
};

/** All four Authenticate* operations answer with the same AuthenticateResponse element and message. */
const authOps = ['AuthenticateImplicit', 'AuthenticateUsernamePassword', 'AuthenticateGeneric',
  'AuthenticateWithAccessToken'];

export const PRINCIPAL_SERVICE: ServiceDef = {
  name: 'SoPrincipal',
  versions: [88],
  wsdlName: 'WcfSoPrincipalService',
  portType: 'SoPrincipal',
  binding: 'BasicHttpBinding_SoPrincipal',
  requestHeaders: ['ApplicationToken'],
  responseHeaders: RESPONSE_HEADERS,
  elements: [
    ...HEADER_ELEMENTS.filter((e) => e.name !== 'Credentials'),
    ...pair('GetSystemInfo', [], [{ name: 'SystemInfo', type: 'tns:SoSystemInfoCarrier', nillable: true }]),
    { name: 'AuthenticateImplicit', inline: [] },
    {
      name: 'AuthenticateResponse',
      inline: [
        { name: 'Response', type: 'tns:SoPrincipalCarrier', nillable: true },
        { name: 'Credentials', type: 'tns:SoCredentials', nillable: true },
        { name: 'AuthenticationSucceeded', type: 'xs:boolean' },
      ],
    },
    {
      name: 'AuthenticateUsernamePassword',
      inline: [
        { name: 'UserName', type: 'xs:string', nillable: true },
        { name: 'Password', type: 'xs:string', nillable: true },
      ],
    },
    {
      name: 'AuthenticateGeneric',
      inline: [{ name: 'AuthenticationData', type: 'tns:AuthenticationGenericData', nillable: true }],
    },
    {
      name: 'AuthenticateWithAccessToken',
      inline: [{ name: 'AccessToken', type: 'xs:string', nillable: true }],
    },
  ],
  operations: [
    { name: 'GetSystemInfo', input: 'GetSystemInfo', output: 'GetSystemInfoResponse' },
    ...authOps.map((name): OperationDef => ({ name, input: name, output: 'AuthenticateResponse' })),
  ],
};

export const SERVICES: Readonly<Record<ServiceName, ServiceDef>> = {
  Webhook: WEBHOOK_SERVICE,
  SoPrincipal: PRINCIPAL_SERVICE,
};
