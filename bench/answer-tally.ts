import { z } from 'zod';
import type { HttpResponse } from './http-load.ts';

const errorBodySchema = z.object({ error: z.object({ code: z.string() }).loose() }).loose();

/** What an answer was: its status, with the error code of an error body ("429 too_many_requests"), or the connection's loss. */
export function outcomeOf(answer: HttpResponse | Error): string {
  if (answer instanceof Error) return `no response (${answer.message})`;
  if (answer.status < 400 || answer.body === null) return String(answer.status);
  try {
    return `${answer.status} ${errorBodySchema.parse(JSON.parse(answer.body.toString('utf8'))).error.code}`;
  } catch {
    return `${answer.status} (no error code)`;
  }
}

/** Answers to one kind of request: every latency, and how many ended in each outcome. */
export class AnswerTally {
  readonly latenciesMs: number[] = [];
  readonly #outcomes = new Map<string, number>();

  constructor(private readonly success: number) {}

  add(answer: HttpResponse | Error, latencyMs: number): void {
    this.latenciesMs.push(latencyMs);
    const outcome = outcomeOf(answer);
    this.#outcomes.set(outcome, (this.#outcomes.get(outcome) ?? 0) + 1);
  }

  get requests(): number {
    return this.latenciesMs.length;
  }

  get succeeded(): number {
    return this.#outcomes.get(String(this.success)) ?? 0;
  }

  /** Every outcome but success, the most frequent first. */
  failures(): [string, number][] {
    return [...this.#outcomes].filter(([outcome]) => outcome !== String(this.success)).sort((a, b) => b[1] - a[1]);
  }
}
