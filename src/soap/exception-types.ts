/**
 * The .NET exception type a NetServer SOAP client recognises (ExceptionInfo.ExceptionType), per application error
 * code. Only the SOAP edge speaks in these names; the other faces use the codes themselves.
 */
import type { ErrorCode } from '../errors.js';

const exceptionTypes: Record<ErrorCode, string> = {
  invalid_argument: 'System.ArgumentException',
  not_found: 'SuperOffice.CRM.SoNotFoundException',
  not_supported: 'System.NotSupportedException',
  unauthenticated: 'SuperOffice.CRM.Security.SoServerException',
  target_refused: 'SuperOffice.CRM.Webhooks.WebhookTargetException',
  conflict: 'SuperOffice.CRM.SoConflictException',
  unavailable: 'SuperOffice.CRM.SoServiceUnavailableException',
  internal: 'System.Exception',
};

export function exceptionTypeFor(code: string): string | null {
  return Object.prototype.hasOwnProperty.call(exceptionTypes, code) ? exceptionTypes[code as ErrorCode] : null;
}
