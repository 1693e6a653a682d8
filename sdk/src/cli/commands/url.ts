import { type Command, printJson, printLine } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { imageUrlArguments } from '../transform-arguments.ts';

export const url: Command = {
  usage: 'url <id> <format> [option=value]…',
  summary: 'the URL of an image in a format, transformed (e.g. url ID webp w=200 h=200 fit=cover)',
  options: {},
  run({ client, positionals, json }) {
    const { id, options } = imageUrlArguments(positionals, 'url');
    const address = client.images.url(id, options);
    if (json) printJson({ url: address });
    else printLine(address);
    return Promise.resolve(EXIT.ok);
  },
};
