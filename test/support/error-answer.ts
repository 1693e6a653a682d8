import { DomainError } from '../../lib/errors.ts';
import { errorAnswerOf, type ErrorAnswer } from '../../lib/http/error-status.ts';

/** How a thrown domain error is answered over HTTP (status, code, message, details, headers), through the one status table. */
export function answerOf(error: unknown): ErrorAnswer {
  if (!(error instanceof DomainError)) throw new Error(`not a domain error: ${String(error)}`, { cause: error });
  const answer = errorAnswerOf(error);
  if (answer === null) throw new Error(`${error.name} has no HTTP status`, { cause: error });
  return answer;
}
