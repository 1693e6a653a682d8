#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ProgImage } from '../client.ts';
import { ApiError } from '../errors.ts';
import type { Command } from './command.ts';
import { batch } from './commands/batch.ts';
import { get, remove } from './commands/get.ts';
import { sign } from './commands/sign.ts';
import { transform } from './commands/transform.ts';
import { upload } from './commands/upload.ts';
import { url } from './commands/url.ts';
import { webhooks } from './commands/webhooks.ts';
import { EXIT, exitCodeFor, UsageError } from './exit-codes.ts';
import { signingSecretFromEnvironment } from './signing-secret.ts';

const COMMANDS: Readonly<Record<string, Command>> = { upload, get, url, sign, transform, batch, delete: remove, webhooks };

const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `progimage: store, transform and serve images with ProgImage

Usage: progimage <command> [arguments] [options]

Commands:
${Object.entries(COMMANDS)
  .map(([, command]) => `  ${command.usage}\n      ${command.summary}`)
  .join('\n')}

Options:
  --url URL        the server (or PROGIMAGE_URL)
  --api-key KEY    sent as a bearer token (or PROGIMAGE_API_KEY)
  --timeout MS     per request (default 60000)
  --json           one JSON document on stdout, for scripts
  -h, --help       this text

With PROGIMAGE_SIGNING_SECRET and PROGIMAGE_TENANT (the tenant's signing
secret and name), sign makes URLs here, with no call to the server.

Progress goes to stderr, and only on a terminal.
Exit status: 0 done; 1 unexpected failure; 2 usage or configuration;
3 the server refused the request (4xx); 4 some items of a bulk command failed;
5 the server was unreachable, failed (5xx), rate-limited (429) or too slow.
`;

async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`Usage: progimage ${command.usage}\n  ${command.summary}\n`);
    return EXIT.ok;
  }
  const baseUrl = (typeof values.url === 'string' ? values.url : undefined) ?? process.env.PROGIMAGE_URL;
  if (baseUrl === undefined || baseUrl === '') throw new UsageError('no server: give --url or set PROGIMAGE_URL');
  const apiKey = (typeof values['api-key'] === 'string' ? values['api-key'] : undefined) ?? process.env.PROGIMAGE_API_KEY;
  const timeout = typeof values.timeout === 'string' ? Number(values.timeout) : undefined;
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--timeout takes a number of milliseconds above 0');
  const signing = signingSecretFromEnvironment();
  const client = new ProgImage({
    baseUrl,
    ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }),
    ...(signing === undefined ? {} : { signing }),
  });
  return command.run({ client, positionals, values, json: values.json === true, request: timeout === undefined ? {} : { timeout } });
}

const json = process.argv.includes('--json');
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (json) {
      const detail = error instanceof ApiError ? { status: error.status, code: error.code, message, ...error.details } : { message };
      process.stdout.write(`${JSON.stringify({ error: detail })}\n`);
    }
    process.stderr.write(`progimage: ${message}\n`);
    process.exitCode = exitCodeFor(error);
  },
);
