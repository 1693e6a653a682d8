/** One sample of the Prometheus text exposition format: `name{label="value",…} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Values as Prometheus reads them; prom-client writes NaN as "Nan", which Prometheus (case-insensitive) reads too. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|Nan|\+Inf|-Inf))(?: -?\d+)?$/;
const numberOf = (value: string): number => (value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value));
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g;
const COMMENT = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$/;

/** Parses the text format strictly: a line that is neither a HELP/TYPE comment nor a sample throws, naming it. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '' || COMMENT.test(line)) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`line ${index + 1} is not Prometheus text: ${JSON.stringify(line)}`);
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, label = '', labelValue = ''] of labelText.matchAll(LABEL)) labels[label] = labelValue;
    samples.push({ name, labels, value: numberOf(value) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels`. */
export function sampleSum(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}
