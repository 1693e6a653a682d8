import { type Command, printJson, printLine } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';

function theOnlyId(positionals: readonly string[], command: string): string {
  const [id] = positionals;
  if (id === undefined || positionals.length > 1) throw new UsageError(`${command} takes one image id`);
  return id;
}

export const get: Command = {
  usage: 'get <id>',
  summary: "an image's metadata and the state of every stage",
  options: {},
  async run({ client, positionals, json, request }) {
    const image = await client.images.get(theOnlyId(positionals, 'get'), request);
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
    const id = theOnlyId(positionals, 'delete');
    await client.images.delete(id, request);
    if (json) printJson({ id, deleted: true });
    return EXIT.ok;
  },
};
