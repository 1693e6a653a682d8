import { writeFile } from 'node:fs/promises';
import { type Command, printJson, stringValue } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { transformArguments } from '../transform-arguments.ts';

export const transform: Command = {
  usage: 'transform <file|url> [option=value]… [--out FILE]',
  summary: 'transform an image that is not stored; the result goes to --out, or to stdout when it is not a terminal',
  options: { out: { type: 'string', short: 'o' } },
  async run({ client, positionals, values, json, request }) {
    const [input, ...words] = positionals;
    if (input === undefined) throw new UsageError('transform takes a file or URL and transform options');
    const out = stringValue(values.out);
    if (out === undefined && (json || process.stdout.isTTY))
      throw new UsageError('transform needs --out FILE when stdout is a terminal or --json is given');
    const result = await client.transform(input, transformArguments(words), request);
    if (out === undefined) {
      process.stdout.write(result.data);
      return EXIT.ok;
    }
    await writeFile(out, result.data);
    if (json) printJson({ out, contentType: result.contentType, bytes: result.data.length });
    return EXIT.ok;
  },
};
