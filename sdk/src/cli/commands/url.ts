import type { ImageUrlOptions } from '../../images.ts';
import { type Command, printJson, printLine } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { transformArguments } from '../transform-arguments.ts';

export const url: Command = {
  usage: 'url <id> <format> [option=value]…',
  summary: 'the URL of an image in a format, transformed (e.g. url ID webp w=200 h=200 fit=cover)',
  options: {},
  run({ client, positionals, json }) {
    const [id, format, ...words] = positionals;
    if (id === undefined || format === undefined) throw new UsageError('url takes an image id, a format and transform options');
    const address = client.images.url(id, { ...transformArguments(words), format } as ImageUrlOptions);
    if (json) printJson({ url: address });
    else printLine(address);
    return Promise.resolve(EXIT.ok);
  },
};
