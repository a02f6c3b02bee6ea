// Reads a Dockerfile and its .dockerignore so that a local builder does what they say without Docker.
//
//   parseDockerfile(text)        global ARGs and stages of instructions (continuations joined, comments gone)
//   planDockerfile(dockerfile)   the build stages' steps (WORKDIR, ENV, COPY from the context, RUN) and the final
//                                image: its base, ENV, WORKDIR, USER, EXPOSE, LABEL, ENTRYPOINT, CMD and COPY steps;
//                                any other instruction is refused with its line, so the Dockerfile cannot gain a step
//                                that the local build silently skips
//   dockerignore(text)           the build-context filter: true for paths the context leaves out
import { matchesGlob, posix } from 'node:path';

export interface Instruction {
  keyword: string;
  value: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

export class DockerfileError extends Error {
  override name = 'DockerfileError';
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { value: string; line: number } | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trimEnd();
    // Comment lines vanish, also between continuation lines (parser directives are comments too).
    if (/^\s*#/.test(line)) continue;
    if (!pending && line.trim() === '') continue;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1) : line;
    pending = pending
      ? { ...pending, value: `${pending.value} ${part.trim()}` }
      : { value: part.trim(), line: i + 1 };
    if (continued) continue;
    const match = /^(\S+)\s*(.*)$/.exec(pending.value);
    if (match)
      instructions.push({ keyword: match[1]!.toUpperCase(), value: match[2]!.trim(), line: pending.line });
    pending = undefined;
  }
  if (pending)
    throw new DockerfileError(`the instruction at line ${pending.line} continues past the end of the file`);

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = substitute(instruction.value, args, instruction.line).split(/\s+/);
      if (words.some((word) => word.startsWith('--'))) {
        throw new DockerfileError(`FROM flags are not supported (line ${instruction.line})`);
      }
      const [from, as, name] = words;
      if (!from || (as !== undefined && (as.toUpperCase() !== 'AS' || !name))) {
        throw new DockerfileError(`cannot read FROM at line ${instruction.line}`);
      }
      stages.push({ from, line: instruction.line, instructions: [], ...(name ? { name } : {}) });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') {
        throw new DockerfileError(`${instruction.keyword} before the first FROM (line ${instruction.line})`);
      }
      const [key, value] = splitAssignment(instruction.value);
      args[key] = value ?? '';
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new DockerfileError('the Dockerfile has no FROM');
  return { args, stages };
}

function splitAssignment(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  return eq < 0 ? [text, undefined] : [text.slice(0, eq), unquote(text.slice(eq + 1))];
}

function unquote(text: string): string {
  return /^(["']).*\1$/.test(text) ? text.slice(1, -1) : text;
}

/** $NAME and ${NAME} from the global ARGs (as FROM sees them). */
function substitute(text: string, args: Record<string, string>, line: number): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_all, braced?: string, bare?: string) => {
      const name = (braced ?? bare)!;
      const value = args[name];
      if (value === undefined)
        throw new DockerfileError(`line ${line} uses $${name}, which no ARG before FROM sets`);
      return value;
    },
  );
}

/** Splits words like a shell would for Docker's ENV and COPY: whitespace outside quotes, backslash escapes. */
export function words(text: string): string[] {
  const result: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quote !== "'" && i + 1 < text.length) {
      current += text[++i]!;
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = undefined;
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) result.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new DockerfileError(`unclosed quote in: ${text}`);
  if (inWord) result.push(current);
  return result;
}

/** ENV key=value … (several pairs) or the legacy ENV key value. */
export function parseEnv(value: string): [string, string][] {
  const tokens = words(value);
  if (tokens.length > 0 && !tokens[0]!.includes('=')) {
    const [key] = tokens;
    return [[key!, value.slice(value.indexOf(key!) + key!.length).trim()]];
  }
  return tokens.map((token) => {
    const eq = token.indexOf('=');
    if (eq <= 0) throw new DockerfileError(`cannot read ENV ${value}`);
    return [token.slice(0, eq), token.slice(eq + 1)];
  });
}

/** The exec form (a JSON array) as it is; the shell form as /bin/sh -c. */
export function parseCommand(value: string): string[] {
  if (value.startsWith('[')) {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
      throw new DockerfileError(`not an exec form: ${value}`);
    }
    return parsed;
  }
  return ['/bin/sh', '-c', value];
}

export interface CopyStep {
  /** The stage the sources come from; the build context when absent. */
  from?: string;
  sources: string[];
  /** Absolute; ends with / when the sources go into it as a directory. */
  destination: string;
}

function parseCopy(value: string, workingDir: string, line: number): CopyStep {
  const tokens = value.startsWith('[') ? parseCommand(value) : words(value);
  let from: string | undefined;
  while (tokens[0]?.startsWith('--')) {
    const flag = tokens.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else throw new DockerfileError(`COPY ${flag} is not supported by the local builder (line ${line})`);
  }
  const destination = tokens.pop();
  if (!destination || tokens.length === 0) throw new DockerfileError(`cannot read COPY at line ${line}`);
  const intoDirectory = destination.endsWith('/') || destination === '.' || tokens.length > 1;
  const absolute = posix.resolve(workingDir, destination);
  return {
    ...(from === undefined ? {} : { from }),
    sources: tokens,
    destination: intoDirectory ? `${absolute.replace(/\/$/, '')}/` : absolute,
  };
}

export type BuildStep =
  | { kind: 'workdir'; path: string }
  | { kind: 'copy'; copy: CopyStep }
  | { kind: 'run'; command: string; line: number };

export interface BuildStage {
  name: string;
  from: string;
  env: [string, string][];
  steps: BuildStep[];
}

export interface FinalImage {
  from: string;
  env: [string, string][];
  workingDir: string;
  user?: string;
  exposedPorts: string[];
  labels: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  copies: CopyStep[];
}

export interface DockerfilePlan {
  buildStages: BuildStage[];
  final: FinalImage;
}

const unsupported = (instruction: Instruction, where: string) =>
  new DockerfileError(
    `the local image builder cannot do ${instruction.keyword} in ${where} (Dockerfile line ${instruction.line}); ` +
      'teach test/env/images/dockerfile.ts and operator.ts to, or leave it out',
  );

export function planDockerfile(dockerfile: Dockerfile): DockerfilePlan {
  const stages = dockerfile.stages;
  const final = stages.at(-1)!;
  const buildStages = stages.slice(0, -1).map((stage): BuildStage => {
    if (!stage.name) throw new DockerfileError(`the build stage at line ${stage.line} has no name`);
    const plan: BuildStage = { name: stage.name, from: stage.from, env: [], steps: [] };
    let workingDir = '/';
    for (const instruction of stage.instructions) {
      switch (instruction.keyword) {
        case 'WORKDIR':
          workingDir = posix.resolve(workingDir, instruction.value);
          plan.steps.push({ kind: 'workdir', path: workingDir });
          break;
        case 'ENV':
          plan.env.push(...parseEnv(instruction.value));
          break;
        case 'COPY': {
          const copy = parseCopy(instruction.value, workingDir, instruction.line);
          if (copy.from !== undefined)
            throw unsupported(instruction, `build stage ${stage.name} (COPY --from)`);
          plan.steps.push({ kind: 'copy', copy });
          break;
        }
        case 'RUN':
          if (instruction.value.startsWith('['))
            throw unsupported(instruction, `build stage ${stage.name} (exec form)`);
          plan.steps.push({ kind: 'run', command: instruction.value, line: instruction.line });
          break;
        default:
          throw unsupported(instruction, `build stage ${stage.name}`);
      }
    }
    return plan;
  });

  const image: FinalImage = {
    from: final.from,
    env: [],
    workingDir: '/',
    exposedPorts: [],
    labels: {},
    copies: [],
  };
  for (const instruction of final.instructions) {
    switch (instruction.keyword) {
      case 'ENV':
        image.env.push(...parseEnv(instruction.value));
        break;
      case 'WORKDIR':
        image.workingDir = posix.resolve(image.workingDir, instruction.value);
        break;
      case 'USER':
        image.user = instruction.value;
        break;
      case 'EXPOSE':
        image.exposedPorts.push(
          ...words(instruction.value).map((port) => (port.includes('/') ? port : `${port}/tcp`)),
        );
        break;
      case 'LABEL':
        for (const [key, value] of parseEnv(instruction.value)) image.labels[key] = value;
        break;
      case 'ENTRYPOINT':
        image.entrypoint = parseCommand(instruction.value);
        // As in Docker: an ENTRYPOINT resets the CMD inherited from the base image.
        delete image.cmd;
        break;
      case 'CMD':
        image.cmd = parseCommand(instruction.value);
        break;
      case 'COPY': {
        const copy = parseCopy(instruction.value, image.workingDir, instruction.line);
        if (copy.from !== undefined && !buildStages.some((stage) => stage.name === copy.from)) {
          throw unsupported(
            instruction,
            `the final stage (COPY --from=${copy.from}, not a stage of this file)`,
          );
        }
        image.copies.push(copy);
        break;
      }
      default:
        throw unsupported(instruction, 'the final stage');
    }
  }
  return { buildStages, final: image };
}

/** True for a context path (relative, with /) that .dockerignore leaves out; the last matching rule decides. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const pattern = posix.normalize((include ? line.slice(1) : line).trim()).replace(/^\/+|\/+$/g, '');
      return { include, pattern };
    });
  return (path) => {
    // A rule that matches a parent directory covers everything below it.
    const prefixes = path.split('/').map((_part, i, parts) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => matchesGlob(prefix, rule.pattern))) ignored = !rule.include;
    }
    return ignored;
  };
}
