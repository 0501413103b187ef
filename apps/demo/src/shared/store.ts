/** A note: user text, escaped by the templates wherever it is shown. */
export interface Note {
  id: number;
  title: string;
  createdAt: Date;
}

/** How a project is doing; the badge's colour. */
export type Tone = "ok" | "warn" | "stop";
/** Every tone, in the order the form offers them. */
export const TONES: readonly Tone[] = ["ok", "warn", "stop"];

/** A project: its badge is pushed on topic `project:<id>` to its members only. */
export interface Project {
  id: string;
  /** Who may open the project and watch its topic. */
  members: readonly User[];
  name: string;
  status: string;
  tone: Tone;
  /** Bumped by every update, shown on the badge. */
  revision: number;
}

/** The demo's users, picked in the top bar (a cookie, not a login). */
export const USERS = ["alice", "bob"] as const;
export type User = (typeof USERS)[number];

/** Narrows any string to a known user, if it is one. */
export function asUser(value: unknown): User | undefined {
  return USERS.find((user) => user === value);
}

/** Limits on user text, checked by the routes. */
/** Characters a note title may have. */
export const MAX_TITLE = 200;
/** Characters a status text (team or project) may have. */
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
  /** The team status shown on the home page; `undefined` until someone sets it. */
  status: string | undefined;

  constructor() {
    this.#projects.set("42", {
      id: "42",
      name: "Website relaunch",
      members: ["alice", "bob"],
      status: "Kick-off",
      tone: "ok",
      revision: 1,
    });
    this.#projects.set("43", {
      id: "43",
      name: "Mobile app",
      members: ["alice"],
      status: "Waiting for designs",
      tone: "warn",
      revision: 1,
    });
  }

  /** Every note, oldest first (at most the last 200). */
  notes(): readonly Note[] {
    return this.#notes;
  }

  /** Stores a note titled `title` (already validated). */
  addNote(title: string): Note {
    const note = { id: this.#nextNoteId++, title, createdAt: new Date() };
    this.#notes.push(note);
    // Keep memory bounded however long the demo runs.
    if (this.#notes.length > 200) this.#notes.shift();
    return note;
  }

  /** Every project, in id order. */
  projects(): readonly Project[] {
    return [...this.#projects.values()];
  }

  /** The project `id`, or `undefined`. */
  project(id: string): Project | undefined {
    return this.#projects.get(id);
  }

  /** Sets a project's status and tone and bumps its revision; `undefined` for an unknown id. */
  updateProject(id: string, status: string, tone: Tone): Project | undefined {
    const project = this.#projects.get(id);
    if (project === undefined) return undefined;
    project.status = status;
    project.tone = tone;
    project.revision++;
    return project;
  }

  /** Whether `user` may see project `id` (and watch its topic). */
  isMember(user: User, id: string): boolean {
    return this.#projects.get(id)?.members.includes(user) ?? false;
  }

  /** A fresh id for a background job. */
  nextJobId(): number {
    return this.#nextJobId++;
  }
}
