import { type Command, printJson, printLine, secondsValue } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { imageUrlArguments } from '../transform-arguments.ts';

export const sign: Command = {
  usage: 'sign <id> <format> [option=value]… [--expires-in SECONDS]',
  summary: 'a URL of an image in a format, transformed, that a browser may fetch without a key until it expires (by default in an hour)',
  options: { 'expires-in': { type: 'string' } },
  async run({ client, positionals, values, json, request }) {
    const { id, options } = imageUrlArguments(positionals, 'sign');
    const expiresIn = secondsValue(values, 'expires-in');
    const signed = await client.images.signedUrl(id, options, { ...request, ...(expiresIn === undefined ? {} : { expiresIn }) });
    if (json) printJson({ url: signed.url, expiresAt: signed.expiresAt.toISOString() });
    else printLine(signed.url);
    return EXIT.ok;
  },
};
