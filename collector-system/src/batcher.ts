// Groups items that arrive close together into one call of `flush` — for the store, one transaction and one
// fsync per batch instead of per reading (synchronous=FULL makes each commit an fsync).

export class Batcher<T, R> {
  readonly #flush: (items: T[]) => Promise<R[]>;
  readonly #maxBatch: number;
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #scheduled = false;
  #running: Promise<void> = Promise.resolve();

  /** `flush` must return one result per item, in order, or throw (then every item of the batch is rejected). */
  constructor(flush: (items: T[]) => Promise<R[]>, maxBatch = 512) {
    this.#flush = flush;
    this.#maxBatch = maxBatch;
  }

  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#start()); // let the messages already read from the socket join this batch
      }
    });
  }

  /** Resolves when everything pushed so far has been flushed. */
  async idle(): Promise<void> {
    while (this.#scheduled || this.#queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
    await this.#running;
  }

  #start(): void {
    // one flush at a time, in arrival order: a later batch never commits before an earlier one
    this.#running = this.#running.then(async () => {
      this.#scheduled = false;
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.#flush(batch.map((b) => b.item));
          if (results.length !== batch.length) throw new Error(`flush returned ${results.length} results for ${batch.length} items`);
          batch.forEach((b, i) => b.resolve(results[i]!));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    });
  }
}
