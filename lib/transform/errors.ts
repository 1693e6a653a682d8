import { HttpError } from '../http/errors.ts';

/** A transform option that is unknown, out of range or not allowed with the others: 400, naming it. */
export class TransformOptionError extends HttpError {
  constructor(option: string, problem: string, given: unknown) {
    super(400, 'invalid_transform', `${option}: ${problem}`, { option, ...(given === undefined ? {} : { given }) });
  }
}
