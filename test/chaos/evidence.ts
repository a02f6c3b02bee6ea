// Everything the operator said or wrote during a run, and every secret it must never show, for the final scan.
//
//   evidence.add(source, text)        a metrics scrape, a dump of Events and statuses
//   evidence.addFile(source, path)    a log file, read at scan time (so it holds every line)
//   evidence.secret(label, value)     a password, password hash, cookie or credential; also looked for
//                                     base64-, URI- and JSON-encoded
//   evidence.scan()                   [{ label, source }] for every secret found; values are never printed
import { readFileSync } from 'node:fs';

interface Found {
  secret: string;
  source: string;
}

class Evidence {
  readonly #texts: { source: string; text: string }[] = [];
  readonly #files = new Map<string, string>();
  readonly #secrets = new Map<string, string>();

  add(source: string, text: string): void {
    this.#texts.push({ source, text });
  }

  addFile(source: string, path: string): void {
    this.#files.set(path, source);
  }

  secret(label: string, value: string | undefined): void {
    // Short values (an empty hash, a test's "x") would match by chance and prove nothing.
    if (value && value.length >= 8) this.#secrets.set(value, label);
  }

  get counts() {
    return { texts: this.#texts.length, files: this.#files.size, secrets: this.#secrets.size };
  }

  /** Characters scanned, and every secret found with where. */
  scan(): { scanned: number; found: Found[] } {
    const sources = [
      ...this.#texts,
      ...[...this.#files].map(([path, source]) => ({ source, text: readFileSync(path, 'utf8') })),
    ];
    const needles = [...this.#secrets].flatMap(([value, label]) =>
      [
        value,
        Buffer.from(value).toString('base64'),
        encodeURIComponent(value),
        JSON.stringify(value).slice(1, -1),
      ].map((needle) => ({ needle, label })),
    );
    const found: Found[] = [];
    let scanned = 0;
    for (const { source, text } of sources) {
      scanned += text.length;
      for (const { needle, label } of needles) {
        if (text.includes(needle) && !found.some((f) => f.secret === label && f.source === source)) {
          found.push({ secret: label, source });
        }
      }
    }
    return { scanned, found };
  }
}

/** One per process: the operator harness, the scenarios and the scan share it. */
export const evidence = new Evidence();
