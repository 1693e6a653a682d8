import { z } from 'zod';
import type { ZodOpenApiResponseObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { failure } from './refusals.ts';

/** Bytes of a body or an answer. */
export const binarySchema = z.string().meta({ contentMediaType: 'application/octet-stream' });

/** Bytes a request uploads: a file is never empty. */
export const uploadedBytesSchema = z.string().min(1).meta({ contentMediaType: 'application/octet-stream' });

/** The headers of image bytes (docs/api.md, "Headers and caching"); HEAD answers them without the body. */
export const imageHeaders = z.object({
  ETag: z.string(),
  'Last-Modified': z.string(),
  'Cache-Control': z.string().meta({ description: 'A year and immutable; for a signed URL, no longer than it is valid' }),
  'Accept-Ranges': z.literal('bytes'),
  'Content-Disposition': z.string().optional().meta({ description: 'With ?download: attachment, with a safe file name' }),
});

export const imageAnswer = (description: string, headers: z.ZodObject = imageHeaders): ZodOpenApiResponseObject => ({
  description,
  headers,
  content: { 'image/*': { schema: binarySchema } },
});

/** What every GET of image bytes may answer besides 200: 206, 304 and 416, and 400 for a download named twice. */
export const delivered: ZodOpenApiResponsesObject = {
  '206': imageAnswer(
    'The one range the Range header asks for (unless If-Range names another version)',
    imageHeaders.extend({ 'Content-Range': z.string() }),
  ),
  '304': { description: 'If-None-Match named the current ETag, or (without If-None-Match) If-Modified-Since is not before Last-Modified' },
  '400': failure('download given more than once', ['invalid_query']),
  '416': failure('the Range asks for none of the bytes; Content-Range: bytes */SIZE', ['range_not_satisfiable']),
};

/** What a GET of image bytes may send besides its path: a download name (query), ranges and conditions (headers). */
export const deliveryQuery = z.object({
  download: z.string().optional().meta({
    description:
      "Save as a file: Content-Disposition attachment with this name (made safe, its extension the format's); empty for the image id",
  }),
});
const header = (description: string) => z.string().optional().meta({ description });
export const deliveryHeaders = z.object({
  Range: header('One byte range (bytes=START-END, START-, -LENGTH); several are answered with the whole image'),
  'If-Range': header('An ETag or Last-Modified date: the range only if the image is still that one'),
  'If-None-Match': header('ETags the client has: 304 for the current one'),
  'If-Modified-Since': header('Without If-None-Match: 304 unless modified since'),
});
