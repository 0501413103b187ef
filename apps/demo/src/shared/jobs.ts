import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { RequestStream } from "@burrow/sse-core";
import { publishFragment, type Registry } from "@burrow/sse-registry";
import { checkSameOrigin, type Reply } from "./http.js";
import type { Locale } from "./i18n.js";
import type { PageRenderer } from "./page-renderer.js";
import type { DemoApp } from "./plugin.js";
import { PROJECTS, type Store, type User } from "./store.js";
import { userTopic } from "./topics.js";
import type { Views } from "./views.js";
import { localeOf, userOf } from "./visitor.js";

/** The progress a background job reports after each of its steps, in percent. */
const JOB_STEPS = [25, 50, 75, 100] as const;
/** How long each step of a background job "works". */
const JOB_STEP_MS = 100;

/** What {@link Jobs} runs its jobs with. */
export interface JobsOptions {
  registry: Registry;
  app: DemoApp;
  store: Store;
  views: Views;
  renderer: PageRenderer;
}

/**
 * The report job, started by either page's button: it runs in the
 * background, outside any request, and publishes its report to the user's
 * topic in the user's language.
 */
export class Jobs {
  readonly #registry: Registry;
  readonly #app: DemoApp;
  readonly #store: Store;
  readonly #views: Views;
  readonly #renderer: PageRenderer;

  constructor(options: JobsOptions) {
    this.#registry = options.registry;
    this.#app = options.app;
    this.#store = options.store;
    this.#views = options.views;
    this.#renderer = options.renderer;
  }

  /**
   * `POST /jobs` (the htmx 2 page's report button): answers at once; the job
   * runs in the background, outside any request, and publishes its report in
   * the user's language (see {@link Jobs.streamJob} for htmx 4's).
   */
  async startJob(req: IncomingMessage): Promise<Reply> {
    checkSameOrigin(req.headers);
    const locale = localeOf(req);
    const id = await this.#store.nextJobId();
    void this.#runJob(userOf(req), locale, id);
    return this.#renderer.fragment("fragments/job-queued.njk", { id }, locale);
  }

  /**
   * `POST /htmx4/jobs` (the htmx 4 page's report button, a `streamHandler`
   * route): the answer is a stream of this request's own, which htmx 4 swaps
   * into `#job-queued` message by message: queued, the job's progress, then
   * "ready" once the job has published its report; then the stream ends. The
   * job is the same background job as htmx 2's: a client that leaves ends
   * only its stream, the report is still published.
   */
  async streamJob(stream: RequestStream, req: IncomingMessage): Promise<void> {
    const locale = localeOf(req);
    const id = await this.#store.nextJobId();
    const send = (name: string, data: Record<string, unknown>) =>
      stream.send({ data: this.#views.render(name, data, { locale }) });
    await send("fragments/job-queued.njk", { id });
    const job = this.#runJob(userOf(req), locale, id, (percent) => {
      void send("fragments/job-progress.njk", { id, percent });
    });
    const left = once(stream.signal, "abort").then(() => false);
    // Not "ready" for a job stopped by a shutdown: the stream just ends.
    if (await Promise.race([job, left])) await send("fragments/job-ready.njk", { id });
  }

  /** The `authorize` option of `POST /htmx4/jobs`: a cross-origin request answers 403. */
  mayStartJob(req: IncomingMessage): boolean {
    checkSameOrigin(req.headers);
    return true;
  }

  /**
   * The report job, in the background ({@link DemoApp.run}): works in steps,
   * telling `progress` after each, then renders its report in `locale`
   * through the registry's renderer and publishes it to the user's topic with
   * `publishFragment` (which finds the broker with `brokerFromRegistry`).
   * Resolves `true` once the report is published, `false` if it never will be.
   */
  #runJob(
    user: User,
    locale: Locale,
    id: number,
    progress?: (percent: number) => void,
  ): Promise<boolean> {
    return this.#app.run(async (pause) => {
      for (const percent of JOB_STEPS) {
        await pause(JOB_STEP_MS);
        progress?.(percent);
      }
      const notes = await this.#store.notes();
      await publishFragment(
        this.#registry,
        userTopic(user),
        "fragments/job-done.njk",
        {
          id,
          noteCount: notes.length,
          projectCount: PROJECTS.length,
          finishedAt: new Date(),
        },
        { locale },
      );
    });
  }
}
