const WIDTH = 24;

/** A progress line on stderr, redrawn in place; silent when stderr is not a terminal (scripts, CI, pipes). */
export class ProgressLine {
  private readonly enabled = process.stderr.isTTY;

  update(done: number, total: number, detail: string): void {
    if (!this.enabled) return;
    const filled = total === 0 ? WIDTH : Math.round((done / total) * WIDTH);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${total} ${detail}\x1b[K`);
  }

  end(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
