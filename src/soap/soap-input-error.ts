/**
 * A request value of the wrong type or shape (`<WebhookId>12abc</WebhookId>`, an unknown enum name, an xs:anyType
 * value with an unsupported xsi:type). It is an AppError with code invalid_argument, so the SOAP edge answers it
 * like any business error: HTTP 200, Succeeded=false and an ExceptionInfo whose Message and Parameters name the
 * field, so that the caller can see which value was wrong.
 */
import { AppError } from '../errors.js';

export class SoapInputError extends AppError {
  /** Path of the offending element relative to the body wrapper or header, e.g. `Webhook.Properties[1].Value`. */
  declare readonly field: string;

  constructor(field: string, message: string) {
    super('invalid_argument', message, { field, friendlyText: `The request contains an invalid value for ${field}.` });
    this.name = 'SoapInputError';
  }
}
