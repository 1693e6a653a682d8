/**
 * `npm run admin -- <command>`: tenants, API keys, signing secrets and ingest credentials. With
 * --url (or PROGIMAGE_URL) through the admin API of a running ProgImage,
 * with PROGIMAGE_ADMIN_TOKEN; without, on the catalog store of the PROGIMAGE_*
 * settings, which the embedded store allows while `npm start` runs on it.
 */
import { parseArgs } from 'node:util';
import { createCatalogStore } from '../lib/adapters/index.ts';
import { newApiKey } from '../lib/auth/keys.ts';
import { openIngestCredentials } from '../lib/auth/ingest-credentials.ts';
import { openTenantCollections } from '../lib/auth/tenants.ts';
import { openPipelineImages } from '../lib/backlog/pipeline-images.ts';
import { ConfigError, loadConfig, type Config } from '../lib/config/index.ts';
import { errorMessage } from '../lib/error-message.ts';
import { AdminApiClient } from './admin-client.ts';
import { COMMAND_OPTIONS, parseCommand, UsageError, type Command } from './commands.ts';
import { StoredTenantAdministration } from './tenant-administration.ts';

const USAGE = `Usage: npm run admin -- [--url URL] <command>

  --url URL                      through the admin API of the ProgImage at URL (or PROGIMAGE_URL), with the admin
                                 token in PROGIMAGE_ADMIN_TOKEN (or --admin-token); without, on the catalog store of
                                 the PROGIMAGE_* settings (the embedded one too, while npm start runs on it)

  tenant list                    every tenant's settings
  tenant create NAME [--requests-per-second N] [--stored-bytes N] [--images-in-flight N] [--signed-gets-only true|false]
                  [--default-ttl S] [--cors-origins ORIGIN,…]
                                 a tenant with its first API key (printed once)
  tenant set NAME [--requests-per-second N|none] [--stored-bytes N|none] [--images-in-flight N|none]
                  [--signed-gets-only true|false] [--default-ttl S|none] [--cors-origins ORIGIN,…|none]
                                 --images-in-flight: its uploads not final yet, past which more are refused (429)
                                 --default-ttl: seconds its uploads that name no ttl live (none: PROGIMAGE_DEFAULT_TTL_SECONDS)
                                 --cors-origins: web pages (https://app.example.com) that may call the API with its keys
  tenant show NAME               its settings (secrets hidden), its keys' hashes and its images in the pipeline by stage
  key create TENANT [--label L]  another API key (printed once)
  key revoke KEY|SHA256          the key stops working within PROGIMAGE_AUTH_CACHE_MS
  signing rotate TENANT [--grace-seconds S]
                                 a new signing secret (printed once, for clients that sign URLs themselves);
                                 the old one verifies for S more seconds (default 86400; 0: none)
  sign TENANT PATH [--expires-in S]
                                 PATH (/v1/images/ID.EXT?options) signed with the tenant's current secret (default 3600 s)
  ingest-credential create TENANT [--label L]
                                 a credential an upstream signs its Kafka ingest requests with: key id and secret (printed once)
  ingest-credential list TENANT  the tenant's ingest credentials (key ids, never secrets)
  ingest-credential revoke KEY_ID
                                 its signatures are refused from now on (rotate: create another, switch, revoke the old)
  new-key                        a random key, e.g. for PROGIMAGE_BOOTSTRAP_API_KEY (stores nothing)`;

const OPTIONS = {
  ...COMMAND_OPTIONS,
  url: { type: 'string' },
  'admin-token': { type: 'string' },
  help: { type: 'boolean' },
} as const;

function adminApiAt(url: string, token: string | undefined): AdminApiClient {
  if (token === undefined || token === '')
    throw new UsageError('--url needs the admin token: set PROGIMAGE_ADMIN_TOKEN (or give --admin-token)');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`--url: expected an http(s) URL, got "${url}"`);
  return new AdminApiClient(new URL(url), token);
}

/** Runs the command on the catalog store (the embedded one too while a server has it open). */
async function onStore(command: Command, config: Config): Promise<string> {
  const store = await createCatalogStore(config);
  try {
    return await command(
      new StoredTenantAdministration(
        await openTenantCollections(store),
        await openIngestCredentials(store),
        await openPipelineImages(store),
      ),
    );
  } finally {
    await store.close();
  }
}

async function run(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help === true || positionals[0] === undefined || positionals[0] === 'help') return USAGE;
  if (positionals[0] === 'new-key') return newApiKey();
  const command = parseCommand(positionals, values);
  const url = values.url ?? process.env.PROGIMAGE_URL;
  if (url !== undefined && url !== '') return command(adminApiAt(url, values['admin-token'] ?? process.env.PROGIMAGE_ADMIN_TOKEN));
  return onStore(command, loadConfig());
}

const isUsageProblem = (error: unknown): error is Error =>
  error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));

try {
  console.log(await run(process.argv.slice(2)));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  if (isUsageProblem(error)) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(64); // EX_USAGE
  }
  // What went wrong, as one line: no tenant, a refusal of the admin API, a store that cannot be reached …
  console.error(errorMessage(error));
  process.exit(1);
}
