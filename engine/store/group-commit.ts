/**
 * Group commit for intake (docs/design.md "Intake guarantee"): at most one commit in flight per
 * store handle; the items submitted while it runs wait, and go together in the next commit. The
 * first item of a quiet period waits one `setImmediate`, so frames read in the same event-loop
 * turn (several connections) share a commit too. Each submitter's promise settles only after its
 * group's commit returned, with its own outcome: one bad item fails alone.
 */
export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  item: T;
  resolve(r: R): void;
  reject(e: unknown): void;
}

export interface GroupCommitOptions<T> {
  /** Largest group (items). */
  maxItems: number;
  /** Largest group (bytes, as `sizeOf` counts them); a single larger item still goes alone. */
  maxBytes: number;
  sizeOf(item: T): number;
}

export class GroupCommit<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private running: Promise<void> | undefined;
  private committed = 0;

  constructor(
    /** Commits one group in one transaction; one outcome per item, in order. Throwing fails the whole group. */
    private readonly commit: (items: T[]) => Promise<ItemOutcome<R>[]>,
    private readonly options: GroupCommitOptions<T>,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.running) this.running = this.run();
    });
  }

  /** Items waiting for a commit (in flight excluded). */
  get backlog(): number {
    return this.waiting.length;
  }

  /** Groups committed so far (messages / groups = mean group size). */
  get groups(): number {
    return this.committed;
  }

  /** Resolves once everything submitted so far is settled. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (this.waiting.length > 0) {
      const group = this.takeGroup();
      let outcomes: ItemOutcome<R>[];
      try {
        outcomes = await this.commit(group.map((w) => w.item));
      } catch (e) {
        for (const w of group) w.reject(e);
        continue;
      }
      this.committed++;
      group.forEach((w, i) => {
        const o = outcomes[i];
        if (!o) w.reject(new Error('group commit: no outcome for an item'));
        else if (o.ok) w.resolve(o.value);
        else w.reject(o.error);
      });
    }
    this.running = undefined;
  }

  private takeGroup(): Waiting<T, R>[] {
    const { maxItems, maxBytes, sizeOf } = this.options;
    let n = 0;
    let bytes = 0;
    while (n < this.waiting.length && n < maxItems) {
      const s = sizeOf(this.waiting[n]!.item);
      if (n > 0 && bytes + s > maxBytes) break;
      bytes += s;
      n++;
    }
    return this.waiting.splice(0, n);
  }
}
