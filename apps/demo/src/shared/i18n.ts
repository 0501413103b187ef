/** The languages the demo speaks. */
export const LOCALES = ["en", "de"] as const;
/** A supported language: `"en"` or `"de"`. */
export type Locale = (typeof LOCALES)[number];

const en = {
  "app.title": "Burrow SSE demo",
  "app.tagline":
    "Server-rendered HTML, pushed over Server-Sent Events to htmx. No JavaScript written by hand.",
  "app.twoWindows": "Open this page in two windows: what one does, the other sees at once.",
  "app.servedBy": "Served by {framework}",
  "nav.home": "Notes",
  "nav.project": "Project {id}",
  "lang.label": "Language",
  "user.label": "You are",
  "forbidden.title": "Not a member",
  "forbidden.text":
    "{user} is not a member of project {id}: the page and its event stream answer 403. Switch user in the top bar.",
  "notes.title": "Notes",
  "notes.help":
    "Adding a note publishes an <li> to topic “notifications”; every open page appends it.",
  "notes.placeholder": "Write a note title…",
  "notes.add": "Add note",
  "notes.empty": "No notes yet.",
  "notes.errorEmpty": "A note needs a title.",
  "notes.errorLong": "A title has at most {max} characters.",
  "status.title": "Team status",
  "status.help": "Same connection, other topic: this line only changes on topic “status”.",
  "status.label": "Status:",
  "status.unknown": "unknown",
  "status.placeholder": "e.g. Deploying v2",
  "status.set": "Set status",
  "job.title": "Background report",
  "job.help.htmx2":
    "The request returns at once; a job renders the report later, in your language, and publishes it with brokerFromRegistry.",
  "job.help.htmx4":
    "The request streams the job's progress (htmx 4 swaps each message); the job renders the report in your language and publishes it with brokerFromRegistry.",
  "job.start": "Generate report",
  "job.queued": "Report #{id} queued: it runs in the background, the result appears below.",
  "job.done": "Report #{id} ready: {notes}, {projects}. Finished at {time}.",
  "job.progress": "Report #{id}: {percent} % done…",
  "job.ready": "Report #{id} is ready, see below.",
  "job.notes.one": "{count} note",
  "job.notes.other": "{count} notes",
  "job.projects.one": "{count} project",
  "job.projects.other": "{count} projects",
  "stats.title": "Live status",
  "stats.help":
    "broker.stats(), published on topic “stats” every second while anyone is connected.",
  "stats.clients": "clients",
  "stats.topics": "topics",
  "stats.published": "published",
  "stats.dropped": "dropped",
  "stats.note": "Counts include these status updates.",
  "projects.title": "Projects",
  "projects.help": "Each project page listens on its own topic, project:<id>.",
  "project.viewing": "Viewing now",
  "project.watching":
    "This page listens on {path}, topic project:{id}: updates of other projects never reach it.",
  "project.statusLabel": "Status text",
  "project.tone": "Tone",
  "project.tone.ok": "On track",
  "project.tone.warn": "At risk",
  "project.tone.stop": "Blocked",
  "project.update": "Update project",
  "project.errorEmpty": "The status needs some text.",
  "project.errorLong": "The status has at most {max} characters.",
  "project.back": "Back to the notes",
  "notFound.title": "Not found",
  "notFound.text": "There is nothing at this address.",
} as const;

/** The name of a message, the same in every language. */
export type MessageKey = keyof typeof en;

const de: Record<MessageKey, string> = {
  "app.title": "Burrow-SSE-Demo",
  "app.tagline":
    "Auf dem Server gerendertes HTML, per Server-Sent Events an htmx geschickt. Kein handgeschriebenes JavaScript.",
  "app.twoWindows": "Öffne diese Seite in zwei Fenstern: Was eines tut, sieht das andere sofort.",
  "app.servedBy": "Ausgeliefert von {framework}",
  "nav.home": "Notizen",
  "nav.project": "Projekt {id}",
  "lang.label": "Sprache",
  "user.label": "Du bist",
  "forbidden.title": "Kein Mitglied",
  "forbidden.text":
    "{user} ist kein Mitglied von Projekt {id}: Seite und Event-Stream antworten mit 403. Wechsle den Benutzer oben.",
  "notes.title": "Notizen",
  "notes.help":
    "Eine neue Notiz veröffentlicht ein <li> im Topic „notifications“; jede offene Seite hängt es an.",
  "notes.placeholder": "Titel der Notiz…",
  "notes.add": "Notiz hinzufügen",
  "notes.empty": "Noch keine Notizen.",
  "notes.errorEmpty": "Eine Notiz braucht einen Titel.",
  "notes.errorLong": "Ein Titel hat höchstens {max} Zeichen.",
  "status.title": "Team-Status",
  "status.help":
    "Gleiche Verbindung, anderes Topic: Diese Zeile ändert sich nur mit dem Topic „status“.",
  "status.label": "Status:",
  "status.unknown": "unbekannt",
  "status.placeholder": "z. B. Deploy von v2",
  "status.set": "Status setzen",
  "job.title": "Bericht im Hintergrund",
  "job.help.htmx2":
    "Die Anfrage kehrt sofort zurück; ein Job rendert den Bericht später in deiner Sprache und veröffentlicht ihn mit brokerFromRegistry.",
  "job.help.htmx4":
    "Die Anfrage streamt den Fortschritt des Jobs (htmx 4 tauscht jede Nachricht ein); der Job rendert den Bericht in deiner Sprache und veröffentlicht ihn mit brokerFromRegistry.",
  "job.start": "Bericht erstellen",
  "job.queued":
    "Bericht Nr. {id} eingeplant: Er läuft im Hintergrund, das Ergebnis erscheint unten.",
  "job.done": "Bericht Nr. {id} fertig: {notes}, {projects}. Abgeschlossen um {time}.",
  "job.progress": "Bericht Nr. {id}: {percent} % erledigt…",
  "job.ready": "Bericht Nr. {id} ist fertig, siehe unten.",
  "job.notes.one": "{count} Notiz",
  "job.notes.other": "{count} Notizen",
  "job.projects.one": "{count} Projekt",
  "job.projects.other": "{count} Projekte",
  "stats.title": "Live-Status",
  "stats.help":
    "broker.stats(), jede Sekunde im Topic „stats“ veröffentlicht, solange jemand verbunden ist.",
  "stats.clients": "Clients",
  "stats.topics": "Topics",
  "stats.published": "veröffentlicht",
  "stats.dropped": "verworfen",
  "stats.note": "Die Zahlen enthalten diese Status-Updates.",
  "projects.title": "Projekte",
  "projects.help": "Jede Projektseite hört auf ihr eigenes Topic, project:<id>.",
  "project.viewing": "Schauen gerade zu",
  "project.watching":
    "Diese Seite hört auf {path}, Topic project:{id}: Änderungen anderer Projekte erreichen sie nie.",
  "project.statusLabel": "Statustext",
  "project.tone": "Lage",
  "project.tone.ok": "Im Plan",
  "project.tone.warn": "Gefährdet",
  "project.tone.stop": "Blockiert",
  "project.update": "Projekt aktualisieren",
  "project.errorEmpty": "Der Status braucht etwas Text.",
  "project.errorLong": "Der Status hat höchstens {max} Zeichen.",
  "project.back": "Zurück zu den Notizen",
  "notFound.title": "Nicht gefunden",
  "notFound.text": "Unter dieser Adresse gibt es nichts.",
};

const catalogs: Record<Locale, Record<MessageKey, string>> = { en, de };

/** Translates `key` into `locale`, filling `{name}` placeholders from `vars`. */
export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** A {@link Translate} bound to `locale`. Output is plain text: templates escape it. */
export function translator(locale: Locale): Translate {
  const catalog = catalogs[locale];
  return (key, vars = {}) =>
    catalog[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      name in vars ? String(vars[name]) : whole,
    );
}

/** "3 notes" / "1 Notiz": the plural form of `locale` for `count`. */
export function plural(
  locale: Locale,
  count: number,
  forms: { one: MessageKey; other: MessageKey },
): string {
  const form = new Intl.PluralRules(locale).select(count) === "one" ? forms.one : forms.other;
  return translator(locale)(form, { count });
}

/** Narrows any string to a supported locale, if it is one. */
export function asLocale(value: unknown): Locale | undefined {
  return LOCALES.find((locale) => locale === value);
}

/** The first supported language of an `Accept-Language` header, or English. */
export function localeFromAcceptLanguage(header: string | undefined): Locale {
  for (const part of (header ?? "").split(",")) {
    const tag = part.split(";")[0]?.trim().toLowerCase().split("-")[0];
    const locale = asLocale(tag);
    if (locale !== undefined) return locale;
  }
  return "en";
}
