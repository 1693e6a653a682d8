import type { OptionProblem } from '@progimage/transform-language';
import { InvalidOptionError } from '../errors.ts';

/** A transform option that is unknown, out of range or not allowed with the others: 400, naming it. */
export class TransformOptionError extends InvalidOptionError {
  constructor(option: string, problem: string, given: unknown) {
    super(`${option}: ${problem}`, { option, ...(given === undefined ? {} : { given }) });
  }
}

/** Throws the refusal of the problem, when the options have one. */
export function refuseProblem(problem: OptionProblem): never;
export function refuseProblem(problem: OptionProblem | undefined): void;
export function refuseProblem(problem: OptionProblem | undefined): void {
  if (problem !== undefined) throw new TransformOptionError(problem.option, problem.problem, problem.given);
}
