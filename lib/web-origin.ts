import { z } from 'zod';

const ORIGIN_EXPECTED = 'expected an origin as browsers send it: scheme, host and port only, lower case, e.g. https://app.example.com';

/**
 * A web origin written exactly as a browser serializes it in the Origin
 * header (http or https, lower-case host, no default port, no path or
 * trailing slash), so that allowing one is an exact string comparison.
 */
export const webOriginSchema = z
  .string()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol) && new URL(value).origin === value, ORIGIN_EXPECTED);

/** A comma-separated list of origins in one setting or flag ("" and spaces around commas ignored). */
export const webOriginList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  )
  .pipe(z.array(webOriginSchema));
