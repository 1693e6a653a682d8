import type { SigningSecret } from '@progimage/transform-language';
import { UsageError } from './exit-codes.ts';

/** PROGIMAGE_SIGNING_SECRET and PROGIMAGE_TENANT, the tenant it signs for: with them `progimage sign` signs here, with no call to the server. */
export function signingSecretFromEnvironment(env: NodeJS.ProcessEnv = process.env): SigningSecret | undefined {
  const secret = env.PROGIMAGE_SIGNING_SECRET ?? '';
  if (secret === '') return undefined;
  const tenant = env.PROGIMAGE_TENANT ?? '';
  if (tenant === '') throw new UsageError('PROGIMAGE_SIGNING_SECRET needs PROGIMAGE_TENANT: the name of the tenant whose secret it is');
  return { tenant, secret };
}
