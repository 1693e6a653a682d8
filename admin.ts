/**
 * `npm run admin -- <command>`: tenants, API keys and signing secrets, on the
 * catalog store the services use (same PROGIMAGE_* settings). The embedded
 * store admits one process: stop `npm start` first; MongoDB has no such limit.
 */
import { parseArgs } from 'node:util';
import { createCatalogStore } from './lib/adapters/index.ts';
import { apiKeyHash, newApiKey } from './lib/auth/keys.ts';
import { signUrl } from './lib/auth/signatures.ts';
import {
  createApiKey,
  createTenant,
  currentSecret,
  openTenantCollections,
  revokeApiKey,
  rotateSigningSecret,
  UNLIMITED,
  type TenantCollections,
  type TenantSettings,
} from './lib/auth/tenants.ts';
import { MAX_TTL_SECONDS } from './lib/config/environment.ts';
import { ConfigError, loadConfig } from './lib/config/index.ts';
import { tenantSchema } from './lib/ids.ts';

const USAGE = `Usage: npm run admin -- <command>

  tenant create NAME [--requests-per-second N] [--stored-bytes N] [--signed-gets-only true|false] [--default-ttl S]
                                 a tenant with its first API key (printed once)
  tenant set NAME [--requests-per-second N|none] [--stored-bytes N|none] [--signed-gets-only true|false] [--default-ttl S|none]
                                 --default-ttl: seconds its uploads that name no ttl live (none: PROGIMAGE_DEFAULT_TTL_SECONDS)
  tenant show NAME               its settings (secrets hidden) and its keys' hashes
  key create TENANT [--label L]  another API key (printed once)
  key revoke KEY|SHA256          the key stops working within PROGIMAGE_AUTH_CACHE_MS
  signing rotate TENANT [--grace-seconds S]
                                 a new signing secret; the old one verifies for S more seconds (default 86400)
  sign TENANT PATH [--expires-in S]
                                 PATH (with its query) signed with the tenant's current secret (default 3600 s)
  new-key                        a random key, e.g. for PROGIMAGE_BOOTSTRAP_API_KEY (stores nothing)`;

class UsageError extends Error {}

const OPTIONS = {
  'requests-per-second': { type: 'string' },
  'stored-bytes': { type: 'string' },
  'signed-gets-only': { type: 'string' },
  'default-ttl': { type: 'string' },
  label: { type: 'string' },
  'grace-seconds': { type: 'string' },
  'expires-in': { type: 'string' },
  help: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function positiveNumber(name: string, value: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || number <= 0) throw new UsageError(`--${name}: expected a positive number, got "${value}"`);
  return number;
}

/** A limit from its flag: absent keeps `current`, "none" lifts it. */
function limit(values: Values, name: 'requests-per-second' | 'stored-bytes' | 'default-ttl', current: number | null): number | null {
  const value = values[name];
  if (value === undefined) return current;
  if (value === 'none') return null;
  const number = positiveNumber(name, value);
  if (name !== 'requests-per-second' && !Number.isInteger(number)) throw new UsageError(`--${name}: expected a whole number`);
  if (name === 'default-ttl' && number > MAX_TTL_SECONDS) throw new UsageError(`--default-ttl: at most ${MAX_TTL_SECONDS} seconds`);
  return number;
}

function settings(values: Values, current: TenantSettings): TenantSettings {
  const signed = values['signed-gets-only'];
  if (signed !== undefined && signed !== 'true' && signed !== 'false') {
    throw new UsageError(`--signed-gets-only: expected true or false, got "${signed}"`);
  }
  return {
    requestsPerSecond: limit(values, 'requests-per-second', current.requestsPerSecond),
    storedBytesQuota: limit(values, 'stored-bytes', current.storedBytesQuota),
    signedGetsOnly: signed === undefined ? current.signedGetsOnly : signed === 'true',
    defaultTtlSeconds: limit(values, 'default-ttl', current.defaultTtlSeconds),
  };
}

function tenantName(value: string | undefined): string {
  const parsed = tenantSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`expected a tenant name (a-z, 0-9, "-"), got "${value ?? ''}"`);
  return parsed.data;
}

async function tenantCommand(collections: TenantCollections, [action, name]: string[], values: Values): Promise<string> {
  const id = tenantName(name);
  if (action === 'create') {
    const created = await createTenant(collections, id, settings(values, UNLIMITED));
    if (created === null) throw new UsageError(`tenant ${id} already exists`);
    return `tenant ${id} created. Its API key, shown only this once:\n\n    ${created.apiKey}\n`;
  }
  const found = await collections.tenants.get(id);
  if (found === null) throw new UsageError(`no tenant ${id}`);
  if (action === 'set') {
    const changed = { ...found.document, ...settings(values, found.document) };
    if ((await collections.tenants.save(changed, found.version)) === null) throw new Error('the tenant changed meanwhile; try again');
    return JSON.stringify({ ...changed, signingSecrets: changed.signingSecrets.length }, null, 2);
  }
  if (action === 'show') {
    const keys = await collections.apiKeys.find({ where: { tenant: id }, limit: 1000 });
    const secrets = found.document.signingSecrets.map(({ createdAt, retiresAt }) => ({ createdAt, retiresAt }));
    return JSON.stringify({ ...found.document, signingSecrets: secrets, apiKeys: keys }, null, 2);
  }
  throw new UsageError(`unknown tenant action "${action ?? ''}"`);
}

async function run(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined || command === 'help') return USAGE;
  if (command === 'new-key') return newApiKey();
  const store = await createCatalogStore(loadConfig());
  try {
    const collections = await openTenantCollections(store);
    switch (command) {
      case 'tenant':
        return await tenantCommand(collections, rest, values);
      case 'key': {
        const [action, subject] = rest;
        if (action === 'create') {
          const id = tenantName(subject);
          if ((await collections.tenants.get(id)) === null) throw new UsageError(`no tenant ${id}`);
          return `API key for ${id}, shown only this once:\n\n    ${await createApiKey(collections, id, values.label ?? '')}\n`;
        }
        if (action === 'revoke' && subject !== undefined) {
          const hash = /^[0-9a-f]{64}$/.test(subject) ? subject : apiKeyHash(subject);
          if (!(await revokeApiKey(collections, hash))) throw new UsageError('no such key');
          return `revoked ${hash}`;
        }
        throw new UsageError('expected "key create TENANT" or "key revoke KEY"');
      }
      case 'signing': {
        const [action, name] = rest;
        if (action !== 'rotate') throw new UsageError('expected "signing rotate TENANT"');
        const grace = positiveNumber('grace-seconds', values['grace-seconds'] ?? '86400');
        const rotated = await rotateSigningSecret(collections, tenantName(name), grace);
        return `tenant ${rotated.id}: new signing secret in use; ${rotated.signingSecrets.length - 1} older one(s) verify until they retire`;
      }
      case 'sign': {
        const [name, path] = rest;
        const found = await collections.tenants.get(tenantName(name));
        if (found === null || path?.startsWith('/') !== true) throw new UsageError('expected "sign TENANT /v1/images/ID.EXT?options"');
        const seconds = positiveNumber('expires-in', values['expires-in'] ?? '3600');
        return signUrl(path, found.document.id, currentSecret(found.document), new Date(Date.now() + seconds * 1000));
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    await store.close();
  }
}

try {
  console.log(await run(process.argv.slice(2)));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(64); // EX_USAGE
  }
  throw error;
}
