import {
  type AddedNote,
  type Badge,
  MAX_NOTES,
  type Note,
  PROJECTS,
  type Project,
  projectInfo,
  type Store,
  type Tone,
  withBadge,
} from "./store.js";

/**
 * The demo's state in memory: one per process, and a restart starts
 * afresh. Every read copies what it reads when called.
 */
export class MemoryStore implements Store {
  readonly #notes: Note[] = [];
  readonly #badges = new Map<string, Badge>(
    PROJECTS.map((project) => [project.id, { ...project.initial }]),
  );
  #status: string | undefined;
  #nextNoteId = 1;
  #nextJobId = 1;

  async notes(): Promise<Note[]> {
    return [...this.#notes];
  }

  async addNote(title: string): Promise<AddedNote> {
    const note = { id: this.#nextNoteId++, title, createdAt: new Date() };
    this.#notes.push(note);
    // Keep memory bounded however long the demo runs.
    const dropped = this.#notes.splice(0, Math.max(0, this.#notes.length - MAX_NOTES));
    return { note, dropped: dropped.map((one) => one.id) };
  }

  async status(): Promise<string | undefined> {
    return this.#status;
  }

  async setStatus(text: string): Promise<void> {
    this.#status = text;
  }

  async projects(): Promise<Project[]> {
    return PROJECTS.map((project) => this.#withBadge(project.id)!);
  }

  async project(id: string): Promise<Project | undefined> {
    return this.#withBadge(id);
  }

  async updateProject(id: string, status: string, tone: Tone): Promise<Project | undefined> {
    const badge = this.#badges.get(id);
    if (badge === undefined) return undefined;
    this.#badges.set(id, { status, tone, revision: badge.revision + 1 });
    return this.#withBadge(id);
  }

  async nextJobId(): Promise<number> {
    return this.#nextJobId++;
  }

  async close(): Promise<void> {}

  #withBadge(id: string): Project | undefined {
    const info = projectInfo(id);
    return info === undefined ? undefined : withBadge(info, this.#badges.get(id));
  }
}
