// What a scenario did and measured, printed as it happens, and the problems that fail it.
//
//   const r = new Report('Broker stopped for 60 s');
//   r.did('created 300 objects')              a step, printed with the seconds since the scenario began
//   r.measured('converged after return', s, { target: 30 })
//                                             a figure, printed; over its target it is also a problem
//   r.problem('…') / r.expect(ok, '…')        a reason the scenario fails
//   r.finish()                                throws (failing the test) with every problem, once all are printed
export interface Figure {
  scenario: string;
  name: string;
  value: number;
  unit: string;
  target?: number;
}

/** Every figure of the run, for the summary at the end. */
export const figures: Figure[] = [];

export class Report {
  readonly problems: string[] = [];
  readonly #started = performance.now();
  readonly title: string;

  constructor(title: string) {
    this.title = title;
    console.log(`\n=== ${title}`);
  }

  #stamp(): string {
    return `[${((performance.now() - this.#started) / 1000).toFixed(1).padStart(6)} s]`;
  }

  did(text: string): void {
    console.log(`${this.#stamp()} ${text}`);
  }

  measured(name: string, value: number, options: { unit?: string; target?: number } = {}): void {
    const unit = options.unit ?? 's';
    const figure: Figure = { scenario: this.title, name, value, unit, target: options.target };
    figures.push(figure);
    const target = options.target === undefined ? '' : ` (target ≤ ${options.target} ${unit})`;
    console.log(`${this.#stamp()} MEASURED ${name}: ${round(value)} ${unit}${target}`);
    if (options.target !== undefined && value > options.target) {
      this.problem(`${name} took ${round(value)} ${unit}, over the target of ${options.target} ${unit}`);
    }
  }

  problem(text: string): void {
    this.problems.push(text);
    console.log(`${this.#stamp()} PROBLEM ${text}`);
  }

  expect(ok: boolean, text: string): void {
    if (!ok) this.problem(text);
  }

  finish(): void {
    const verdict = this.problems.length === 0 ? 'passed' : `FAILED (${this.problems.length} problems)`;
    console.log(`=== ${this.title}: ${verdict}`);
    if (this.problems.length > 0) {
      throw new Error(`${this.title}:\n  ${this.problems.join('\n  ')}`);
    }
  }
}

const round = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

export function printFigures(): void {
  console.log('\n=== Figures');
  for (const f of figures) {
    const target = f.target === undefined ? '' : ` (target ≤ ${f.target} ${f.unit})`;
    console.log(`${f.scenario} | ${f.name}: ${round(f.value)} ${f.unit}${target}`);
  }
}
