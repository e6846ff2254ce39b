/**
 * The shared scenario (scenario.ts) through SOAP, the RESTful face and the Agents face of one running app: a hook
 * created over one face is read, changed, signalled and deleted over the others.
 */
import { test, describe, before, after } from 'node:test';
import { startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { basic, jsonClient } from './support.js';
import { agentsFace, restFace, runTable, soapFace } from './scenario.js';

describe('one scenario through SOAP, RESTful and Agents', () => {
  let app: TestApp;
  let rx: Receiver;

  before(async () => {
    app = await startApp('sqlite', { startWorker: true });
    rx = await startReceiver(200);
  });
  after(async () => {
    await rx.close();
    await app.close();
  });

  test('every face sees what the table says', async () => {
    await runTable({
      soap: soapFace(app),
      rest: restFace(jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD))),
      agents: agentsFace(jsonClient(app.baseUrl, `SOTicket ${app.ticket}`)),
    }, rx);
  });
});
