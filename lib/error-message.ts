import { inspect } from 'node:util';

/**
 * An error as one line for an operator: its message and those of its causes
 * ("embedded database: opening ./data/catalog.sqlite failed (SQLITE_CANTOPEN)"),
 * never a stack trace.
 */
export function errorMessage(error: unknown): string {
  const messages: string[] = [];
  for (let current = error; current !== undefined && messages.length < 5; current = current instanceof Error ? current.cause : undefined) {
    const message = current instanceof Error ? current.message || current.name : inspect(current, { breakLength: Infinity });
    if (message !== '' && !messages.some((seen) => seen.includes(message))) messages.push(message);
  }
  return messages.join(': ');
}
