/**
 * Runs `task(0)` … `task(count - 1)` with at most `concurrency` of them in
 * flight, each started as soon as a slot frees; resolves with the results in
 * index order. The first failure rejects (the tasks in flight still finish).
 */
export async function runConcurrently<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
