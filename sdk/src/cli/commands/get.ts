import { type Command, printJson, printLine } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';

export const get: Command = {
  usage: 'get <id>',
  summary: "an image's metadata and the state of every stage",
  options: {},
  async run({ client, positionals, json, request }) {
    const [id] = positionals;
    if (id === undefined || positionals.length > 1) throw new UsageError('get takes one image id');
    const image = await client.images.get(id, request);
    if (json) printJson(image);
    else printLine(`${image.id}\t${image.status}\t${image.format ?? '-'}\t${image.width ?? '-'}x${image.height ?? '-'}`);
    return EXIT.ok;
  },
};

export const remove: Command = {
  usage: 'delete <id>',
  summary: 'delete an image and everything made from it',
  options: {},
  async run({ client, positionals, json, request }) {
    const [id] = positionals;
    if (id === undefined || positionals.length > 1) throw new UsageError('delete takes one image id');
    await client.images.delete(id, request);
    if (json) printJson({ id, deleted: true });
    return EXIT.ok;
  },
};
