import type { ServiceName, Version } from './model.js';

/** The five (service, version) pairs NetServer publishes and we serve. */
export const PUBLISHED: ReadonlyArray<{ readonly service: ServiceName; readonly version: Version }> = [
  { service: 'Webhook', version: 85 },
  { service: 'Webhook', version: 86 },
  { service: 'Webhook', version: 87 },
  { service: 'Webhook', version: 88 },
  { service: 'SoPrincipal', version: 88 },
];

/** The file name of a committed WSDL under wsdl/ (the reference uses the same names). */
export function wsdlFileName(service: ServiceName, version: Version): string {
  return `Services${version}-${service}.wsdl`;
}
