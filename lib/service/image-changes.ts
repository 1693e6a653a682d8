export type ImageChangeListener = (imageId: string) => void;

/**
 * Within one process: the catalog's projector says which image an event
 * changed, and whatever keeps copies of that image's responses (the API's
 * response cache) drops them. A process without the projector hears nothing,
 * and its copies expire on their own (PROGIMAGE_RESPONSE_CACHE_MS).
 */
export class ImageChanges {
  readonly #listeners = new Set<ImageChangeListener>();

  listen(listener: ImageChangeListener): void {
    this.#listeners.add(listener);
  }

  announce(imageId: string): void {
    for (const listener of this.#listeners) listener(imageId);
  }
}
