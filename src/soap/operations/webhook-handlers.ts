/**
 * Webhook.svc: one thin handler per WSDL operation. Each maps the wire (WSDL element names, Key/Value
 * dictionaries) to an operation of agent/webhook-operations.ts with the ticket of the Credentials header, and maps
 * the answer back. Errors are thrown as AppError; the SOAP edge turns them into ExceptionInfo with Succeeded=false.
 */
import type { WebhookOperations } from '../../agent/webhook-operations.js';
import type { WebhookBodiesWire as B } from '../../contract/wire-types.js';
import type { PropertyValue } from '../../webhooks/types.js';
import { limits } from '../../webhooks/validate.js';
import { dictionaryToRecord, draftFromWire, webhookToWire } from './webhook-mapping.js';
import type { SoapHandlers, SoapContext } from '../soap-endpoint.js';

export function webhookHandlers(deps: { ops: WebhookOperations }): SoapHandlers {
  const { ops } = deps;
  const cred = (ctx: SoapContext) => ({ ticket: ctx.headers.ticket });

  return {
    async CreateDefaultWebhook(_body: B['CreateDefaultWebhook'], ctx): Promise<B['CreateDefaultWebhookResponse']> {
      return { Response: webhookToWire(await ops.createDefaultWebhook(cred(ctx))) };
    },
    async SaveWebhook(body: B['SaveWebhook'], ctx): Promise<B['SaveWebhookResponse']> {
      return { Response: webhookToWire(await ops.saveWebhook(cred(ctx), () => draftFromWire(body.Webhook))) };
    },
    async DeleteWebhook(body: B['DeleteWebhook'], ctx): Promise<B['DeleteWebhookResponse']> {
      await ops.deleteWebhook(cred(ctx), body.WebhookId);
      return {};
    },
    async GetWebhook(body: B['GetWebhook'], ctx): Promise<B['GetWebhookResponse']> {
      return { Response: webhookToWire(await ops.getWebhook(cred(ctx), body.WebhookId)) };
    },
    async GetAllWebhooks(body: B['GetAllWebhooks'], ctx): Promise<B['GetAllWebhooksResponse']> {
      const hooks = await ops.getAllWebhooks(cred(ctx), () => ({ name: body.NameFilter, event: body.EventFilter, state: body.StatusFilter }));
      return { Response: hooks.map(webhookToWire) };
    },
    async TestWebhook(body: B['TestWebhook'], ctx): Promise<B['TestWebhookResponse']> {
      const r = await ops.testWebhook(cred(ctx), () => draftFromWire(body.Webhook));
      return { Response: { TableRight: null, FieldProperties: null, Success: r.success, Message: r.message } };
    },
    async SignalEvent(body: B['SignalEvent'], ctx): Promise<B['SignalEventResponse']> {
      await ops.signalEvent(cred(ctx), () => ({
        eventName: body.EventName ?? '',
        primaryKey: body.PrimaryKey,
        data: dictionaryToRecord<PropertyValue>('Data', body.Data as never, limits.eventData) ?? {},
      }));
      return {};
    },
    async GetLastError(body: B['GetLastError'], ctx): Promise<B['GetLastErrorResponse']> {
      return { Response: await ops.getLastError(cred(ctx), body.WebhookId) };
    },
  };
}
