type Headers = Readonly<Record<string, string>>;

/**
 * Header sets merged, a later value replacing an earlier one, except Vary:
 * every set's field names are kept, each once (RFC 9110 §12.5.5), so that
 * `Vary: Origin` from CORS and `Vary: Accept` from format negotiation make
 * `Vary: Origin, Accept`.
 */
export function mergeHeaders(...sets: readonly Headers[]): Record<string, string> {
  const merged: Record<string, string> = {};
  // Made only when a set has a Vary: this runs for every cached GET, most of which have none.
  let varied: Map<string, string> | null = null;
  for (const set of sets) {
    for (const name in set) {
      const value = set[name] ?? '';
      if (name.length !== 4 || name.toLowerCase() !== 'vary') {
        merged[name] = value;
        continue;
      }
      varied ??= new Map<string, string>();
      for (const field of value.split(',').map((part) => part.trim())) {
        if (field !== '' && !varied.has(field.toLowerCase())) varied.set(field.toLowerCase(), field);
      }
    }
  }
  if (varied !== null && varied.size > 0) merged.Vary = [...varied.values()].join(', ');
  return merged;
}
