import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../../errors.ts';
import type { UploadOutcome } from '../../images.ts';
import { type Command, printJson, printLine, secondsValue, stringValue } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { ProgressLine } from '../progress.ts';

const isUrl = (text: string) => /^https?:\/\//i.test(text);

/** Files, the files under folders (recursively, hidden ones skipped), and URLs, in the order given. */
async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const expanded: string[] = [];
  for (const input of inputs) {
    if (isUrl(input) || !(await stat(input)).isDirectory()) {
      expanded.push(input);
      continue;
    }
    const entries = await readdir(input, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
      .map((entry) => join(entry.parentPath, entry.name))
      .filter(
        (path) =>
          !path
            .slice(input.length)
            .split('/')
            .some((part) => part.startsWith('.')),
      );
    expanded.push(...files.sort());
  }
  return expanded;
}

interface ErrorJson {
  readonly status?: number;
  readonly code?: string;
  readonly message: string;
}

/** One line of the output: the image id, or why the input (or waiting for it) failed. */
interface UploadResult {
  readonly input: string;
  readonly id?: string;
  readonly error?: ErrorJson;
}

const describeError = (error: unknown): ErrorJson =>
  error instanceof ApiError
    ? { status: error.status, code: error.code, message: error.message }
    : { message: error instanceof Error ? error.message : String(error) };

const resultOf = (input: string, outcome: UploadOutcome): UploadResult =>
  outcome.ok ? { input, id: outcome.image.id } : { input, error: describeError(outcome.error) };

export const upload: Command = {
  usage: 'upload <file|folder|url>… [--concurrency N] [--ttl SECONDS] [--wait]',
  summary: 'store images: files, every file under folders, or URLs the server fetches',
  options: { concurrency: { type: 'string' }, ttl: { type: 'string' }, wait: { type: 'boolean' } },
  async run({ client, positionals, values, json, request }) {
    if (positionals.length === 0) throw new UsageError('upload needs at least one file, folder or URL');
    const concurrency = Number(stringValue(values.concurrency) ?? '4');
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('--concurrency takes a whole number from 1');
    const ttl = secondsValue(values, 'ttl');
    const inputs = await expandInputs(positionals);
    const progress = new ProgressLine();
    const outcomes = await client.images.uploadMany(inputs, {
      ...request,
      ...(ttl === undefined ? {} : { ttl }),
      concurrency,
      onProgress: ({ finished, failed, total }) => {
        progress.update(finished, total, `uploaded${failed === 0 ? '' : `, ${failed} failed`}`);
      },
    });
    progress.end();
    const results = outcomes.map((outcome, index) => resultOf(inputs[index] ?? '', outcome));
    if (values.wait === true) {
      for (const [index, outcome] of outcomes.entries()) {
        if (!outcome.ok) continue;
        const image = await client.images.waitUntilReady(outcome.image.id, request).catch((error: unknown) => error);
        if (image instanceof Error) results[index] = { input: inputs[index] ?? '', id: outcome.image.id, error: describeError(image) };
      }
    }
    if (json) printJson(results);
    else
      for (const result of results)
        printLine(result.error === undefined ? `${result.id ?? ''}\t${result.input}` : `failed\t${result.input}\t${result.error.message}`);
    return results.some((result) => result.error !== undefined) ? EXIT.partial : EXIT.ok;
  },
};
