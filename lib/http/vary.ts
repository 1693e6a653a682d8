type Headers = Readonly<Record<string, string>>;

/**
 * Header sets merged, a later value replacing an earlier one, except Vary:
 * every set's field names are kept, each once (RFC 9110 §12.5.5), so that
 * `Vary: Origin` from CORS and `Vary: Accept` from format negotiation make
 * `Vary: Origin, Accept`.
 */
export function mergeHeaders(...sets: readonly Headers[]): Record<string, string> {
  const merged: Record<string, string> = {};
  const varied = new Map<string, string>();
  for (const set of sets) {
    for (const [name, value] of Object.entries(set)) {
      if (name.toLowerCase() !== 'vary') {
        merged[name] = value;
        continue;
      }
      for (const field of value.split(',').map((part) => part.trim())) {
        if (field !== '' && !varied.has(field.toLowerCase())) varied.set(field.toLowerCase(), field);
      }
    }
  }
  if (varied.size > 0) merged.Vary = [...varied.values()].join(', ');
  return merged;
}
