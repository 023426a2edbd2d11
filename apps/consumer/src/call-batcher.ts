/**
 * Gathers calls made in the same tick into one batch call: jobs read together
 * start together, jobs finishing together are written together, so Redis
 * sees one script call per batch instead of one per job. Each caller gets its
 * own item's answer. A failed batch call fails every caller in it.
 */
export function createCallBatcher<Item, Answer>(
  callBatch: (items: Item[]) => Promise<Answer[]>,
  maxBatch: number,
): (item: Item) => Promise<Answer> {
  let queue: { item: Item; resolve: (answer: Answer) => void; reject: (error: unknown) => void }[] = [];

  function flush(): void {
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(maxBatch);
    if (queue.length > 0) setImmediate(flush);
    callBatch(batch.map(({ item }) => item)).then(
      (answers) => batch.forEach(({ resolve }, i) => resolve(answers[i] as Answer)),
      (error: unknown) => batch.forEach(({ reject }) => reject(error)),
    );
  }

  return (item) =>
    new Promise<Answer>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ item, resolve, reject });
    });
}
