// Failures the server reports, as DlmsError subclasses that carry what it said (CONTRIBUTING: one base
// class, subclasses or codes per failure).
import { DlmsError } from '../errors.js';
import type { Aare } from './acse.js';
import { DATA_ACCESS_RESULT, type ExceptionResponse } from './get.js';
import type { ConfirmedServiceError } from './initiate.js';

/** REJECTED: the AARE result was not accepted (0); `aare` has result and result-source-diagnostic. */
export class AssociationRejectedError extends DlmsError {
  constructor(readonly aare: Aare) {
    const why = aare.serviceError ? `, ${aare.serviceError.text}` : '';
    super('REJECTED', `association ${aare.resultName}: ${aare.diagnostic.source} ${aare.diagnostic.name} (${aare.diagnostic.value})${why}`);
  }
}

/** ACCESS: a Get-Response carried a Data-Access-Result other than success (IEC 62056-5-3 §8). */
export class DataAccessError extends DlmsError {
  readonly resultName: string;
  constructor(readonly result: number, what: string) {
    const name = DATA_ACCESS_RESULT[result] ?? `data-access-result-${result}`;
    super('ACCESS', `${what}: ${name} (${result})`);
    this.resultName = name;
  }
}

/** EXCEPTION: the server answered with an exception-response or a confirmed-service-error. */
export class ServiceError extends DlmsError {
  constructor(readonly response: ExceptionResponse | ConfirmedServiceError, what: string) {
    super('EXCEPTION', `${what}: ${response.text}`);
  }
}
