/**
 * SoPrincipal.svc: AuthenticateUsernamePassword issues a 7T: ticket. The other operations exist in the WSDL so
 * generated proxies load, and answer a clear not-supported error.
 */
import type { WebhookOperations } from '../../agent/webhook-operations.js';
import type { Contract } from '../../contract/index.js';
import type { SoPrincipalBodiesWire as B, SoPrincipalCarrierWire } from '../../contract/wire-types.js';
import { notSupported } from '../../errors.js';
import type { AssociateSummary } from '../../webhooks/types.js';
import type { SoapHandlers } from '../soap-endpoint.js';

function principal(a: AssociateSummary): SoPrincipalCarrierWire {
  return {
    UserType: 'InternalAssociate', Associate: a.name, AssociateId: a.associateId, IsPerson: a.personId > 0, PersonId: a.personId,
    CountryId: 0, HomeCountryId: 0, ContactId: 0, GroupId: 0, BusinessId: 0, CategoryId: 0, ContactOwner: 0, RoleId: 0,
    RoleName: null, RoleDescription: null, RoleType: 'Employee', Licenses: [], FullName: a.fullName, EMailAddress: null,
    FunctionRights: [], EjUserId: 0, EjAccessLevel: 0, EjUserStatus: 'StatusNone', ProvidedCredentials: [], SecondaryGroups: [],
    DatabaseContextIdentifier: null,
  };
}

export function principalHandlers(deps: { ops: Pick<WebhookOperations, 'login'>; contract: Contract }): SoapHandlers {
  const handlers: SoapHandlers = {
    async AuthenticateUsernamePassword(body: B['AuthenticateUsernamePassword'], ctx): Promise<B['AuthenticateResponse']> {
      // The client address keys the login throttle (behind TRUST_PROXY, the forwarded one).
      const r = await deps.ops.login(body.UserName ?? '', body.Password ?? '', ctx.req.ip);
      if (!r) return { Response: null, Credentials: null, AuthenticationSucceeded: false };
      return { Response: principal(r.associate), Credentials: { Ticket: r.ticket }, AuthenticationSucceeded: true };
    },
  };
  for (const name of deps.contract.operations) {
    handlers[name] ??= async () => {
      throw notSupported(`SoPrincipal.${name} is not supported by this service; use AuthenticateUsernamePassword`);
    };
  }
  return handlers;
}
