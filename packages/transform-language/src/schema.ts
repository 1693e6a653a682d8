/**
 * The transform language's validation (zod): the schema of every option with
 * its range, image ids, and presets. The server's edge reads options with it;
 * the client does not ship it (see index.ts).
 */
export * from './options-schema.ts';
export * from './presets.ts';
