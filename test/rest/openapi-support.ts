/**
 * NetServer's published Swagger 2.0 documents (../shared/reference/openapi, read at test time, never copied) as
 * validators: converted to OpenAPI 3 by swagger2openapi and compiled by openapi-backend (Ajv).
 *
 * Three declared relaxations make the published schemas describe what NetServer's own JSON serializer writes; each
 * is applied to every schema, nothing else is changed:
 *  1. Every member and every response body may be null: Json.NET writes null for a reference-type member without a
 *     value (NetServer's documented GET /api/v1/Webhook/default shows `"Name":null`), and the Agents API answers a
 *     missing webhook with null. Swagger 2.0 cannot say "nullable".
 *  2. `additionalProperties: {type: object}` (a C# Dictionary<string, object>: Properties, SignalEvent Data) takes
 *     any JSON value, as C#'s `object` does; Swashbuckle writes `type: object` for it.
 *  3. A flags enum (NotifyVia, NotifyWhen) may combine its names as Json.NET writes them: "Email, InApp".
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OpenAPIBackend } from 'openapi-backend';
import converter from 'swagger2openapi';
import { repoRoot } from '../helpers/service.js';

export const referenceDir = path.resolve(repoRoot, '../shared/reference/openapi');
export const referenceMissing = !existsSync(path.join(referenceDir, 'Swagger-v1-Webhook.json'));
export const FACES = ['Webhook', 'WebhookAgent'] as const;
export type SwaggerFace = (typeof FACES)[number];

export function readReference(face: SwaggerFace): Record<string, any> {
  return JSON.parse(readFileSync(path.join(referenceDir, `Swagger-v1-${face}.json`), 'utf8'));
}

const FLAG_ENUMS = new Set(['NotifyVia', 'NotifyWhen']);

function relax(schema: any): any {
  if (Array.isArray(schema)) return schema.map((s) => relax(s));
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [k, v] of Object.entries(schema)) out[k] = relax(v);
  if (out.properties) {
    for (const [name, p] of Object.entries<any>(out.properties)) {
      let member = p;
      if (FLAG_ENUMS.has(name) && Array.isArray(p.enum)) {
        const names = p.enum.map((e: string) => e.replace(/[^A-Za-z0-9]/g, '')).join('|');
        member = { type: 'string', pattern: `^(${names})(, (${names}))*$` };
      }
      out.properties[name] = { anyOf: [member, { type: 'null' }] };
    }
  }
  if (out.additionalProperties && typeof out.additionalProperties === 'object' && out.additionalProperties.type === 'object'
    && !out.additionalProperties.properties && !out.additionalProperties.$ref) {
    out.additionalProperties = {};
  }
  return out;
}

function relaxResponses(openapi: any): void {
  for (const methods of Object.values<any>(openapi.paths)) {
    for (const op of Object.values<any>(methods)) {
      for (const res of Object.values<any>(op.responses ?? {})) {
        for (const media of Object.values<any>(res.content ?? {})) {
          if (media.schema) media.schema = { anyOf: [media.schema, { type: 'null' }] };
        }
      }
    }
  }
}

/** An OpenAPI 3 validator for a Swagger 2.0 document (NetServer's or the one this service serves). */
export async function validatorFor(swagger: Record<string, any>): Promise<OpenAPIBackend> {
  const converted = await (converter.convertObj(structuredClone(swagger) as never, { patch: true, warnOnly: true }) as unknown as Promise<{ openapi: any }>);
  const openapi = converted.openapi;
  openapi.components = relax(openapi.components ?? {});
  for (const methods of Object.values<any>(openapi.paths)) {
    for (const op of Object.values<any>(methods)) {
      for (const media of Object.values<any>(op.requestBody?.content ?? {})) media.schema = relax(media.schema);
    }
  }
  relaxResponses(openapi);
  const api = new OpenAPIBackend({ definition: openapi, strict: false, quick: false, validate: true });
  await api.init();
  return api;
}
