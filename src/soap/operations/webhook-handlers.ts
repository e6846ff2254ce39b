/**
 * Webhook.svc: one thin handler per WSDL operation. Each authenticates the ticket, maps the wire to the domain,
 * calls the agent and maps the answer back. Errors are thrown as AppError; the SOAP edge turns them into
 * ExceptionInfo with Succeeded=false.
 */
import type { WebhookAgent } from '../../agent/webhook-agent.js';
import type { AuthService } from '../../auth/auth-service.js';
import type { WebhookBodiesWire as B } from '../../contract/wire-types.js';
import type { PropertyValue } from '../../webhooks/types.js';
import { invalidArgument } from '../../errors.js';
import { limits } from '../../webhooks/validate.js';
import { dictionaryToRecord, draftFromWire, webhookToWire } from './webhook-mapping.js';
import type { SoapHandlers, SoapContext } from '../soap-endpoint.js';

export function webhookHandlers(deps: { agent: WebhookAgent; auth: AuthService; version: number }): SoapHandlers {
  const { agent, auth } = deps;
  const who = (ctx: SoapContext) => auth.authenticate(ctx.headers.ticket);
  const id = (v: number | undefined) => {
    if (v === undefined || !Number.isInteger(v) || v <= 0) throw invalidArgument('WebhookId', 'must be a positive integer');
    return v;
  };

  return {
    async CreateDefaultWebhook(_body: B['CreateDefaultWebhook'], ctx): Promise<B['CreateDefaultWebhookResponse']> {
      await who(ctx);
      return { Response: webhookToWire(agent.createDefaultWebhook()) };
    },
    async SaveWebhook(body: B['SaveWebhook'], ctx): Promise<B['SaveWebhookResponse']> {
      const by = await who(ctx);
      return { Response: webhookToWire(await agent.saveWebhook(draftFromWire(body.Webhook), by)) };
    },
    async DeleteWebhook(body: B['DeleteWebhook'], ctx): Promise<B['DeleteWebhookResponse']> {
      await who(ctx);
      await agent.deleteWebhook(id(body.WebhookId));
      return {};
    },
    async GetWebhook(body: B['GetWebhook'], ctx): Promise<B['GetWebhookResponse']> {
      await who(ctx);
      return { Response: webhookToWire(await agent.getWebhook(id(body.WebhookId))) };
    },
    async GetAllWebhooks(body: B['GetAllWebhooks'], ctx): Promise<B['GetAllWebhooksResponse']> {
      await who(ctx);
      const hooks = await agent.listWebhooks({ name: body.NameFilter, event: body.EventFilter, state: body.StatusFilter });
      return { Response: hooks.map(webhookToWire) };
    },
    async TestWebhook(body: B['TestWebhook'], ctx): Promise<B['TestWebhookResponse']> {
      const by = await who(ctx);
      const r = await agent.testWebhook(draftFromWire(body.Webhook), by);
      return { Response: { TableRight: null, FieldProperties: null, Success: r.success, Message: r.message } };
    },
    async SignalEvent(body: B['SignalEvent'], ctx): Promise<B['SignalEventResponse']> {
      const by = await who(ctx);
      const data = dictionaryToRecord<PropertyValue>('Data', body.Data as never, limits.eventData) ?? {};
      const pk = body.PrimaryKey ?? 0;
      if (!Number.isInteger(pk)) throw invalidArgument('PrimaryKey', 'must be an integer');
      await agent.signalEvent(body.EventName ?? '', pk, data, by);
      return {};
    },
    async GetLastError(body: B['GetLastError'], ctx): Promise<B['GetLastErrorResponse']> {
      await who(ctx);
      return { Response: await agent.getLastError(id(body.WebhookId)) };
    },
  };
}
