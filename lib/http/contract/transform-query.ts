import { z } from 'zod';
import { OPTION_ALIASES, type TransformOptionName } from '@progimage/transform-language';
import { optionsSchema } from '@progimage/transform-language/schema';

const aliasesOf = (name: string) =>
  Object.entries(OPTION_ALIASES)
    .filter(([, canonical]) => canonical === name)
    .map(([alias]) => alias);

/** A query carries text: of an option that JSON may also give as an object (crop, extend), the query takes the text form only. */
const textForms = ({ jsonSchema }: { jsonSchema: { anyOf?: { type?: unknown }[] } }) => {
  if (jsonSchema.anyOf !== undefined) jsonSchema.anyOf = jsonSchema.anyOf.filter((member) => member.type !== 'object');
};

const optionParameter = (name: string, schema: z.ZodType) => {
  const aliases = aliasesOf(name);
  return schema.meta({
    description: `Transform option ${name} (see README "Transform")${aliases.length === 0 ? '' : `; also spelt ${aliases.join(', ')}`}`,
    override: textForms,
  });
};

/**
 * The transform language in a query: every option of the language's schema
 * (@progimage/transform-language/schema, which the routes read options with)
 * under its canonical name, with its type and range; aliases are accepted too.
 */
export const transformQuery = z.object(
  Object.fromEntries(Object.entries(optionsSchema.shape).map(([name, schema]) => [name, optionParameter(name, schema)])) as Record<
    TransformOptionName,
    z.ZodType
  >,
);

/** A configured preset's options, the request's own on top. */
export const presetQuery = z.object({
  preset: z.string().optional().meta({ description: "A configured preset's options (the request's own options on top)" }),
});

/**
 * A transformation as JSON (a batch's transforms): every option of the
 * language's schema under its canonical name or an alias, with its type and
 * range, and a preset; no other name.
 */
export const transformObject = z
  .object({
    ...presetQuery.shape,
    ...optionsSchema.shape,
    ...Object.fromEntries(Object.entries(OPTION_ALIASES).map(([alias, name]) => [alias, optionsSchema.shape[name]])),
  })
  .partial()
  .strict()
  .meta({
    id: 'Transform',
    description: 'Transform options by canonical name or alias (see README "Transform"), or a preset with options on top',
  });
