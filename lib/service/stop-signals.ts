const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Calls `stop` on every SIGINT and SIGTERM until the returned function is
 * called. For good, not once: a stop is often signalled twice (Ctrl-C pressed
 * twice, or reaching every process in the terminal's group and passed on again
 * by the tsx CLI; a supervisor's own SIGTERM), and a signal with no listener
 * left ends the process at once, in the middle of its stop.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
  };
}
