/**
 * The transform language, shared by the server and the client: option names,
 * aliases and values (transform-options.ts), how values are spelt
 * (option-values.ts), what the server refuses in a combination
 * (option-problems.ts), the canonical form (canonical-form.ts), signed URLs
 * (url-signing.ts) and the public image model (image-model.ts).
 *
 * This entry needs nothing but Node: the client ships a compiled copy of it.
 * Validation with zod, and presets, are `@progimage/transform-language/schema`.
 */
export * from './transform-options.ts';
export * from './option-values.ts';
export * from './option-problems.ts';
export * from './canonical-form.ts';
export * from './url-signing.ts';
export * from './image-model.ts';
