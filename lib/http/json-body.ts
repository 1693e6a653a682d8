import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { HttpError } from './errors.ts';

/** JSON requests name images (URLs, ids) and options; they never carry image bytes. */
const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;

/** Reads a JSON body (at most `maxBytes`, 1 MiB by default) and checks it against `schema`; 400 naming what is wrong. */
export async function readJsonBody<T>(ctx: Context, schema: z.ZodType<T>, maxBytes = DEFAULT_MAX_JSON_BYTES): Promise<T> {
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: maxBytes, encoding: 'utf8' });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') {
      throw new HttpError(413, 'payload_too_large', `a JSON body may be at most ${maxBytes} bytes`, { maxBytes: maxBytes });
    }
    throw new HttpError(400, 'unreadable_body', 'the request body could not be read');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new HttpError(400, 'invalid_body', problems.join('; '), { problems });
  }
  return parsed.data;
}
