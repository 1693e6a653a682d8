import type { Batch, BatchRequest } from '@progimage/transform-language';
import type { TransformInput } from '@progimage/transform-language';
import { type Command, printJson, printLine } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { ProgressLine } from '../progress.ts';
import { transformQueryArgument } from '../transform-arguments.ts';

const isUrl = (text: string) => /^https?:\/\//i.test(text);

export const batch: Command = {
  usage: 'batch <id|url>… -t "w=200&format=webp" [-t …] [--no-store] [--wait]',
  summary: 'transform stored images or URLs in bulk; --wait follows its progress until it completes',
  options: {
    transform: { type: 'string', short: 't', multiple: true },
    'no-store': { type: 'boolean' },
    wait: { type: 'boolean' },
  },
  async run({ client, positionals, values, json, request }) {
    const transforms = Array.isArray(values.transform) ? values.transform : [];
    if (positionals.length === 0 || transforms.length === 0)
      throw new UsageError('batch takes image ids or URLs, and at least one -t transformation');
    const urls = positionals.filter(isUrl);
    if (urls.length !== 0 && urls.length !== positionals.length) throw new UsageError('a batch takes either image ids or URLs, not both');
    const parsed = transforms.map((text) => transformQueryArgument(text) as TransformInput);
    const sources = urls.length === 0 ? { images: positionals } : { urls };
    const body: BatchRequest = { ...sources, transforms: parsed, store: values['no-store'] !== true };
    let result: Batch = await client.batches.create(body, request);
    if (values.wait === true) {
      const progress = new ProgressLine();
      for await (const event of client.batches.watch(result.id, { ...(request.signal === undefined ? {} : { signal: request.signal }) })) {
        const { done, failed, total } = event.batch.counts;
        progress.update(done + failed, total, `items${failed === 0 ? '' : `, ${failed} failed`}`);
        result = event.batch;
      }
      progress.end();
    }
    if (json) printJson(result);
    else printLine(`${result.id}\t${result.status}\t${result.counts.done}/${result.counts.total} done, ${result.counts.failed} failed`);
    return result.counts.failed > 0 ? EXIT.partial : EXIT.ok;
  },
};
