import type { parseArgs } from 'node:util';
import type { z } from 'zod';
import { apiKeyHash } from '../lib/auth/keys.ts';
import { signedUrlRequestSchema } from '../lib/auth/signed-urls.ts';
import { tenantSchema } from '../lib/ids.ts';
import {
  newIngestCredentialSchema,
  newKeySchema,
  newTenantSchema,
  rotationSchema,
  tenantSettingsChangesSchema,
  type PageQuery,
} from './requests.ts';
import type { TenantAdministration } from './tenant-administration.ts';
import { isKeyHash } from './views.ts';

/** A command line the admin command cannot run: it prints the message and the usage. */
export class UsageError extends Error {}

/** A command, checked, to run against the administration (the store's or the admin API's); resolves to what it prints. */
export type Command = (administration: TenantAdministration) => Promise<string>;

export const COMMAND_OPTIONS = {
  'requests-per-second': { type: 'string' },
  'stored-bytes': { type: 'string' },
  'images-in-flight': { type: 'string' },
  'signed-gets-only': { type: 'string' },
  'default-ttl': { type: 'string' },
  'cors-origins': { type: 'string' },
  label: { type: 'string' },
  'grace-seconds': { type: 'string' },
  'expires-in': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof COMMAND_OPTIONS; allowPositionals: true }>>['values'];

/** How the command line names each field of a request, for its messages. */
const ARGUMENT_OF: Readonly<Record<string, string>> = {
  requestsPerSecond: '--requests-per-second',
  storedBytesQuota: '--stored-bytes',
  imagesInFlightLimit: '--images-in-flight',
  signedGetsOnly: '--signed-gets-only',
  defaultTtlSeconds: '--default-ttl',
  corsOrigins: '--cors-origins',
  label: '--label',
  graceSeconds: '--grace-seconds',
  expiresIn: '--expires-in',
  name: 'NAME',
  path: 'PATH',
};

/** A number flag: "none" lifts a limit (null); anything but a plain decimal is left as text for the schema to refuse. */
function numberFlag(value: string | undefined): number | string | null | undefined {
  if (value === 'none') return null;
  return value !== undefined && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/** A list flag: comma-separated items; "none" is the empty list. */
const listFlag = (value: string | undefined): string[] | undefined =>
  value === undefined
    ? undefined
    : value === 'none'
      ? []
      : value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '');

const booleanFlag = (value: string | undefined): boolean | string | undefined =>
  value === 'true' ? true : value === 'false' ? false : value;

/** The request the flags make, checked by the admin API's own schema; a problem names the flag. */
function checked<T>(schema: z.ZodType<T>, fields: Readonly<Record<string, unknown>>): T {
  const parsed = schema.safeParse(fields);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(({ path: [field], message }) => {
    if (field === undefined) return message;
    const name = String(field);
    const argument = ARGUMENT_OF[name] ?? name;
    return fields[name] === undefined ? `${argument} is missing` : `${argument}: ${message}, got ${JSON.stringify(fields[name])}`;
  });
  throw new UsageError(problems.join('; '));
}

const settingsOf = (values: Values) => ({
  requestsPerSecond: numberFlag(values['requests-per-second']),
  storedBytesQuota: numberFlag(values['stored-bytes']),
  imagesInFlightLimit: numberFlag(values['images-in-flight']),
  signedGetsOnly: booleanFlag(values['signed-gets-only']),
  defaultTtlSeconds: numberFlag(values['default-ttl']),
  corsOrigins: listFlag(values['cors-origins']),
});

function tenantNamed(value: string | undefined): string {
  if (!tenantSchema.safeParse(value).success) throw new UsageError(`expected a tenant name (a-z, 0-9, "-"), got "${value ?? ''}"`);
  return value ?? '';
}

/** Every item of a listing (its pages' `key`), page after page. */
async function everyItem<K extends string, T>(
  key: K,
  page: (query: PageQuery) => Promise<Record<K, readonly T[]> & { readonly next: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const found: Record<K, readonly T[]> & { readonly next: string | null } = await page({
      limit: 1000,
      ...(cursor === null ? {} : { cursor }),
    });
    items.push(...found[key]);
    cursor = found.next;
  } while (cursor !== null);
  return items;
}

const printed = (value: unknown): string => JSON.stringify(value, null, 2);

function tenantCommand([action, name]: readonly string[], values: Values): Command {
  switch (action) {
    case 'list':
      return async (administration) => printed(await everyItem('tenants', (query) => administration.tenants(query)));
    case 'create': {
      const request = checked(newTenantSchema, { name, ...settingsOf(values) });
      return async (administration) => {
        const { tenant, key } = await administration.createTenant(request);
        return `tenant ${tenant.name} created. Its API key, shown only this once:\n\n    ${key.key}\n`;
      };
    }
    case 'set': {
      const tenant = tenantNamed(name);
      const changes = checked(tenantSettingsChangesSchema, settingsOf(values));
      return async (administration) => printed(await administration.updateTenant(tenant, changes));
    }
    case 'show': {
      const tenant = tenantNamed(name);
      return async (administration) => {
        const shown = await administration.tenant(tenant);
        return printed({
          ...shown,
          apiKeys: await everyItem('keys', (query) => administration.keys(tenant, query)),
          pipeline: await administration.pipeline(tenant),
        });
      };
    }
    default:
      throw new UsageError(`unknown tenant action "${action ?? ''}"`);
  }
}

function keyCommand([action, subject]: readonly string[], values: Values): Command {
  if (action === 'create') {
    const tenant = tenantNamed(subject);
    const request = checked(newKeySchema, { label: values.label });
    return async (administration) =>
      `API key for ${tenant}, shown only this once:\n\n    ${(await administration.createKey(tenant, request)).key}\n`;
  }
  if (action === 'revoke' && subject !== undefined) {
    // The key itself never leaves this process: only its hash is sent, or looked up.
    const hash = isKeyHash(subject) ? subject : apiKeyHash(subject);
    return async (administration) => `revoked ${(await administration.revokeKey(hash)).sha256}`;
  }
  throw new UsageError('expected "key create TENANT" or "key revoke KEY"');
}

function ingestCredentialCommand([action, subject]: readonly string[], values: Values): Command {
  switch (action) {
    case 'create': {
      const tenant = tenantNamed(subject);
      const request = checked(newIngestCredentialSchema, { label: values.label });
      return async (administration) => {
        const { keyId, secret } = await administration.createIngestCredential(tenant, request);
        return `ingest credential for ${tenant}; its secret is shown only this once:\n\n    key id: ${keyId}\n    secret: ${secret}\n`;
      };
    }
    case 'list': {
      const tenant = tenantNamed(subject);
      return async (administration) => printed(await everyItem('credentials', (query) => administration.ingestCredentials(tenant, query)));
    }
    case 'revoke': {
      if (subject === undefined) break;
      return async (administration) => `revoked ${(await administration.revokeIngestCredential(subject)).keyId}`;
    }
  }
  throw new UsageError('expected "ingest-credential create TENANT", "ingest-credential list TENANT" or "ingest-credential revoke KEY_ID"');
}

/** The command the positionals and flags name, checked before anything is opened or sent. */
export function parseCommand([command, ...rest]: readonly string[], values: Values): Command {
  switch (command) {
    case 'tenant':
      return tenantCommand(rest, values);
    case 'key':
      return keyCommand(rest, values);
    case 'ingest-credential':
      return ingestCredentialCommand(rest, values);
    case 'signing': {
      const [action, name] = rest;
      if (action !== 'rotate') throw new UsageError('expected "signing rotate TENANT"');
      const tenant = tenantNamed(name);
      const rotation = checked(rotationSchema, { graceSeconds: numberFlag(values['grace-seconds']) });
      return async (administration) => {
        const rotated = await administration.rotateSigningSecret(tenant, rotation);
        const verifying = rotated.signingSecrets.filter(({ retiresAt }) => retiresAt !== null && Date.parse(retiresAt) > Date.now()).length;
        return (
          `tenant ${rotated.name}: new signing secret in use; ${verifying} older one(s) verify until they retire.\n` +
          `For clients that sign URLs themselves (the client library, progimage sign), shown only this once:\n\n` +
          `    PROGIMAGE_TENANT=${rotated.name} PROGIMAGE_SIGNING_SECRET=${rotated.signingSecret}\n`
        );
      };
    }
    case 'sign': {
      const [name, path] = rest;
      const tenant = tenantNamed(name);
      const request = checked(signedUrlRequestSchema, { path, expiresIn: numberFlag(values['expires-in']) });
      return async (administration) => (await administration.signUrl(tenant, request)).url;
    }
    default:
      throw new UsageError(`unknown command "${command ?? ''}"`);
  }
}
