import type { DocumentCollection, Identified, Where } from './ports/catalog-store.ts';

/** Every document of `collection` (those matching `where`, if given) in ascending id order, read a page at a time. */
export async function* everyDocument<T extends Identified>(
  collection: DocumentCollection<T>,
  { where, pageSize = 500 }: { readonly where?: Where; readonly pageSize?: number } = {},
): AsyncGenerator<T> {
  let after: string | undefined;
  for (;;) {
    const page = await collection.find({
      limit: pageSize,
      ...(where === undefined ? {} : { where }),
      ...(after === undefined ? {} : { after }),
    });
    yield* page;
    if (page.length < pageSize) return;
    after = page.at(-1)?.id;
  }
}
