/**
 * Progress of the long steps (resolving a tag, doctor's checks per host, importing a compose file, waiting for
 * readiness), on stderr so that stdout stays the result a script reads: on a terminal, listr2's live list, one
 * line per item with a spinner and what it is doing now; piped, plain lines, one per change, each naming its item.
 */
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from "listr2";

/** The lines of the items a step is working on. */
export interface ProgressLines {
  /** `item` is now doing `text`. */
  update(item: string, text: string): void;
  /** `item` is done; its line says `text`. */
  done(item: string, text: string): void;
}

/** Runs `work` while showing one line per item (items not done when it returns are marked done as they are). */
export type Tracker = <T>(items: readonly string[], work: (lines: ProgressLines) => Promise<T>) => Promise<T>;

/** No progress at all: what the verbs show when run from tests or from the old per-verb scripts. */
export const noProgress: Tracker = (_items, work) => work({ update() {}, done() {} });

interface Deferred {
  readonly promise: Promise<void>;
  settle(error?: Error): void;
}

function deferred(): Deferred {
  let settle: (error?: Error) => void = () => {};
  const promise = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Work that fails before listr2 has started an item's task leaves no one awaiting it yet: not an unhandled
  // rejection (which would end the process), as the task still sees the rejection once it starts.
  promise.catch(() => undefined);
  return { promise, settle };
}

/** listr2's options: every item at once, on `stream`; its live renderer on a terminal, plain lines otherwise. */
function listrOptions(stream: NodeJS.WriteStream, live: boolean) {
  const logger = () => new ListrLogger({ processOutput: new ProcessOutput(stream, stream) });
  return {
    concurrent: true,
    exitOnError: false,
    registerSignalListeners: false,
    renderer: "default",
    // A failed item keeps its name; the verb says what failed, once, after the list.
    rendererOptions: { logger: logger(), showErrorMessage: false },
    fallbackRenderer: "simple",
    fallbackRendererOptions: { logger: logger() },
    fallbackRendererCondition: !live,
    forceTTY: live,
  } as const;
}

/** A Tracker drawing on `stream`: live on a terminal, plain lines otherwise. */
export function streamProgress(stream: NodeJS.WriteStream = process.stderr, live = Boolean(stream.isTTY)): Tracker {
  return async (items, work) => {
    const ends = new Map(items.map((item) => [item, deferred()]));
    const tasks = new Map<string, ListrTaskWrapper<unknown, never, never>>();
    // What an item said before listr2 started its task: shown as soon as it starts.
    const early = new Map<string, { output?: string; title?: string }>();
    const text = (item: string, what: string) => (live ? what : `${item}: ${what}`);
    const listr = new Listr<unknown, "default", "simple">(
      items.map((item) => ({
        title: item,
        task: (_ctx, task) => {
          tasks.set(item, task as never);
          const said = early.get(item);
          if (said?.output !== undefined) task.output = said.output;
          if (said?.title !== undefined) task.title = said.title;
          return ends.get(item)!.promise;
        },
      })),
      listrOptions(stream, live),
    );
    const shown = listr.run().catch(() => undefined);
    const lines: ProgressLines = {
      update(item, what) {
        const task = tasks.get(item);
        if (task) task.output = text(item, what);
        else early.set(item, { ...early.get(item), output: text(item, what) });
      },
      done(item, what) {
        const task = tasks.get(item);
        if (task) task.title = `${item}: ${what}`;
        else early.set(item, { ...early.get(item), title: `${item}: ${what}` });
        ends.get(item)?.settle();
      },
    };
    try {
      const result = await work(lines);
      for (const end of ends.values()) end.settle();
      return result;
    } catch (error) {
      for (const end of ends.values()) end.settle(new Error("stopped"));
      throw error;
    } finally {
      await shown;
    }
  };
}
