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
/** Notes the demo keeps, and every page shows: the last ones. */
export const MAX_NOTES = 200;

/** A project, as the demo defines it: who may open it and watch its topic. Fixed. */
export interface ProjectInfo {
  id: string;
  /** Who may open the project and watch its topic. */
  members: readonly User[];
  name: string;
}

/** A project's badge: what its members change, pushed on topic `project:<id>`. */
export interface Badge {
  status: string;
  tone: Tone;
  /** Bumped by every update, shown on the badge. */
  revision: number;
}

/** A project with its badge. */
export type Project = ProjectInfo & Badge;

/** A project as the demo defines it, with the badge it starts with. */
export interface ProjectDefinition extends ProjectInfo {
  initial: Badge;
}

/** The demo's projects, in id order. */
export const PROJECTS: readonly ProjectDefinition[] = [
  {
    id: "42",
    name: "Website relaunch",
    members: ["alice", "bob"],
    initial: { status: "Kick-off", tone: "ok", revision: 1 },
  },
  {
    id: "43",
    name: "Mobile app",
    members: ["alice"],
    initial: { status: "Waiting for designs", tone: "warn", revision: 1 },
  },
];

/** The project `id` as the demo defines it, or `undefined`. */
export function projectInfo(id: string): ProjectDefinition | undefined {
  return PROJECTS.find((project) => project.id === id);
}

/** `project` with `badge`, or with the badge it starts with when none was stored. */
export function withBadge(project: ProjectDefinition, badge?: Badge): Project {
  const { initial, ...info } = project;
  const { status, tone, revision } = badge ?? initial;
  return { ...info, status, tone, revision };
}

/** Whether `user` may see project `id` (and watch its topic). */
export function isMember(user: User, id: string): boolean {
  return projectInfo(id)?.members.includes(user) ?? false;
}

/** What {@link Store.addNote} stored, and what the list let go of for it. */
export interface AddedNote {
  note: Note;
  /** Ids of the notes it pushed out of the last {@link MAX_NOTES}, oldest first. */
  dropped: number[];
}

/**
 * The demo's state: notes, the team status, the projects' badges, and job
 * numbers. In memory ({@link MemoryStore}: one per process, a restart starts
 * afresh), or in the backplane's Redis or PostgreSQL, shared by every demo
 * on it. Every read starts when it is called (a snapshot renders the state
 * as of its call). The routes change it before they publish.
 */
export interface Store {
  /** The last {@link MAX_NOTES} notes, oldest first. */
  notes(): Promise<Note[]>;
  /** Stores a note titled `title` (already validated), dropping the oldest past {@link MAX_NOTES}. */
  addNote(title: string): Promise<AddedNote>;
  /** The team status shown on the home page; `undefined` until someone sets it. */
  status(): Promise<string | undefined>;
  setStatus(text: string): Promise<void>;
  /** Every project with its badge, in id order. */
  projects(): Promise<Project[]>;
  /** The project `id` with its badge, or `undefined`. */
  project(id: string): Promise<Project | undefined>;
  /** Sets a project's status and tone and bumps its revision; `undefined` for an unknown id. */
  updateProject(id: string, status: string, tone: Tone): Promise<Project | undefined>;
  /** A fresh number for a background job. */
  nextJobId(): Promise<number>;
  /** Lets go of its connection, if it has one. */
  close(): Promise<void>;
}
