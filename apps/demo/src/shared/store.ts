/** A note: user text, escaped by the templates wherever it is shown. */
export interface Note {
  id: number;
  title: string;
  createdAt: Date;
}

/** How a project is doing; the badge's colour. */
export type Tone = "ok" | "warn" | "stop";
export const TONES: readonly Tone[] = ["ok", "warn", "stop"];

export interface Project {
  id: string;
  name: string;
  status: string;
  tone: Tone;
  /** Bumped by every update, shown on the badge. */
  revision: number;
}

/** Limits on user text, checked by the routes. */
export const MAX_TITLE = 200;
export const MAX_STATUS = 80;

/**
 * The demo's whole state, in memory: notes, projects and the team status.
 * One instance per running server; a restart starts afresh.
 */
export class Store {
  readonly #notes: Note[] = [];
  readonly #projects = new Map<string, Project>();
  #nextNoteId = 1;
  #nextJobId = 1;
  status: string | undefined;

  constructor() {
    this.#projects.set("42", {
      id: "42",
      name: "Website relaunch",
      status: "Kick-off",
      tone: "ok",
      revision: 1,
    });
    this.#projects.set("43", {
      id: "43",
      name: "Mobile app",
      status: "Waiting for designs",
      tone: "warn",
      revision: 1,
    });
  }

  notes(): readonly Note[] {
    return this.#notes;
  }

  addNote(title: string): Note {
    const note = { id: this.#nextNoteId++, title, createdAt: new Date() };
    this.#notes.push(note);
    // Keep memory bounded however long the demo runs.
    if (this.#notes.length > 200) this.#notes.shift();
    return note;
  }

  projects(): readonly Project[] {
    return [...this.#projects.values()];
  }

  project(id: string): Project | undefined {
    return this.#projects.get(id);
  }

  updateProject(id: string, status: string, tone: Tone): Project | undefined {
    const project = this.#projects.get(id);
    if (project === undefined) return undefined;
    project.status = status;
    project.tone = tone;
    project.revision++;
    return project;
  }

  nextJobId(): number {
    return this.#nextJobId++;
  }
}
