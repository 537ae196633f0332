// Things a benchmark opened, closed in reverse order: every one is tried, the first failure is rethrown.
export class Closers {
  readonly #list: Array<() => unknown> = [];

  add(close: () => unknown): void {
    this.#list.push(close);
  }

  async closeAll(): Promise<void> {
    let first: unknown;
    for (const close of this.#list.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
