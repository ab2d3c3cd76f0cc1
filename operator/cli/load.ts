// Reading profiles and platform policies (MeshwardPolicy) from files, directories and stdin for the
// CLI. A service's repository holds more than profiles (Deployments, Services, kustomization.yaml,
// Helm templates, rendered objects, `kubectl get -o yaml` Lists, whose items are read one by one):
// documents that are not meshward kinds are skipped and counted, files that are templates rather
// than YAML are skipped with a note. Every failure becomes a one-line problem with the file it is
// about; nothing here throws for bad input.
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import { type MeshwardPolicy, POLICY_KIND } from "../api/policy.ts";
import { GROUP, KIND, type Profile } from "../api/schema.ts";
import { validatePolicy } from "../api/validate-policy.ts";
import { type Problem, validateProfile } from "../api/validate.ts";
import type { Finding } from "../policy/types.ts";
import { locate, type Source, unknownKeyOf } from "./position.ts";
import { closest } from "../api/suggest.ts";
import { salvageProfile } from "./salvage.ts";
import { type Exclude, isDefaultExcluded, isExcluded } from "./exclude.ts";

export const MAX_FILE_BYTES = 1024 * 1024;

/** The kinds of problem besides a policy's findings (whose reasons are FINDING_REASONS). */
export const PROBLEM_CODES = {
  InvalidProfile: "a ServiceSecurityProfile breaks a rule of its CRD",
  InvalidPolicy: "a MeshwardPolicy breaks a rule of its CRD",
  InvalidYaml: "a file is not valid YAML",
  InputNotReadable: "an input cannot be read (missing, unreadable, too large, not text)",
  DuplicateName: "two documents define the same profile or policy",
  UnknownKind: "a document is not a kind meshward reads (a misspelt kind, or --no-skip-unknown)",
  UnknownReference: "a service: reference names a profile that is not among the inputs",
  OneSided: "one side of a call is declared, the other not, so the call is denied",
  NoProfile: "the inputs hold no ServiceSecurityProfile",
  PolicyConflict: "MeshwardPolicies contradict each other, or name profiles that are not there",
} as const;
export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface LoadedProfile {
  file: string;
  profile: Profile;
  /** The document's node in the file, to give problems a line and column. */
  source?: Source;
}

export interface LoadedPolicy {
  file: string;
  policy: MeshwardPolicy;
  /** Read from a --policy path rather than from the inputs. */
  viaFlag: boolean;
  source?: Source;
}

export interface FileProblem extends Problem {
  file: string;
  /** namespace/name, when the document got that far. */
  profile?: string;
  /** The MeshwardPolicy's name, for a problem of a policy document. */
  policy?: string;
  /** A platform policy's finding on a profile: the message is Finding.message, as in the cluster. */
  finding?: Pick<Finding, "reason" | "rule" | "mode" | "policies">;
  /** The file could not be read at all (missing, unreadable): a usage/IO error, exit 2. */
  io?: boolean;
  /**
   * What kind of problem it is, for CI reports (a SARIF rule, a GitHub annotation's title): one of
   * PROBLEM_CODES; a policy's finding has its reason instead. Unset: InvalidProfile or InvalidPolicy.
   */
  code?: ProblemCode;
  /** 1-based line and column of the field in the file (of its nearest parent when it is missing). */
  line?: number;
  column?: number;
}

/** A document that is not a meshward kind: skipped (and counted), or a failure with --strict. */
export interface SkippedDocument {
  file: string;
  /** "document 2" in a multi-document file, else "". */
  document: string;
  apiVersion: string;
  kind: string;
  /** Where the document starts (1-based). */
  line?: number;
  column?: number;
}

/** A file skipped as a whole (e.g. a Helm template), with why. Never a failure. */
export interface Note {
  file: string;
  message: string;
}

/** What is valid of an invalid profile (operator/cli/salvage.ts): checked, never rendered. */
export interface SalvagedProfile extends LoadedProfile {
  /** A path in the salvaged profile as the file writes it. */
  mapPath: (path: string) => string;
}

/** A Namespace manifest among the inputs: its labels decide policies and the data plane offline. */
export interface LoadedNamespace {
  file: string;
  name: string;
  labels: Record<string, string>;
}

export interface LoadResult {
  profiles: LoadedProfile[];
  /** Namespace manifests among the inputs (not counted as skipped). */
  namespaces?: LoadedNamespace[];
  /** Invalid profiles' valid remainders, for the policies and the fleet checks only. */
  salvaged?: SalvagedProfile[];
  /** MeshwardPolicies, from the inputs and from --policy. */
  policies: LoadedPolicy[];
  problems: FileProblem[];
  skipped: SkippedDocument[];
  notes: Note[];
  /** Every file read, in order (for per-file reports such as JUnit). */
  files: string[];
}

export interface LoadOptions {
  /** Reads all of standard input, for the argument "-". */
  readStdin?: () => string;
  /**
   * Files and directories given with --policy: only MeshwardPolicies are read from them (a profile
   * there is an error). A file that is also an input is read once, as an input.
   */
  policyPaths?: string[];
  /** What directory walks leave out (--exclude, the defaults). */
  walk?: WalkOptions;
}

/** The name "-" is read as standard input. */
export const STDIN = "-";
export const STDIN_LABEL = "<stdin>";

/** A Go template action ({{ ... }} or {{- ... }}): a Helm or kustomize-less template, not YAML yet. */
const TEMPLATE_ACTION = /\{\{-?\s/;

const YAML_FILE = /\.ya?ml$/i;

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
      return "permission denied";
    case "ELOOP":
      return "too many levels of symbolic links (a symlink loop)";
    default:
      return err.message ?? String(e);
  }
}

/** What a directory walk leaves out. */
export interface WalkOptions {
  /** --exclude patterns. */
  excludes?: readonly Exclude[];
  /** node_modules/ and dot-directories (default true; --no-default-excludes turns it off). */
  defaultExcludes?: boolean;
}

/**
 * Expands files and directories (recursively, YAML files only, each real path once). What the
 * walk finds may be excluded; a file or directory named as an argument is always read.
 */
export function collectFiles(
  args: string[],
  problems: FileProblem[],
  seen: Set<string> = new Set<string>(),
  walk: WalkOptions = {},
): string[] {
  const out: string[] = [];
  const visit = (p: string, explicit: boolean, below = "") => {
    // Excluded before anything else: a broken link under node_modules/ is no problem of ours.
    if (!explicit) {
      let isDirectory = false;
      try {
        isDirectory = fs.statSync(p).isDirectory();
      } catch {
        // not readable: reported below unless excluded by name
      }
      if (walk.defaultExcludes !== false && isDefaultExcluded(path.basename(p), isDirectory)) return;
      if (isExcluded(walk.excludes ?? [], p, below, isDirectory)) return;
    }
    let real: string;
    let st: fs.Stats;
    try {
      real = fs.realpathSync(p);
      st = fs.statSync(real);
    } catch (e) {
      problems.push({ file: p, path: "", message: errorText(e), io: true, code: "InputNotReadable" });
      return;
    }
    if (seen.has(real)) return; // symlink loops and duplicates are read once
    seen.add(real);
    if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = fs.readdirSync(real).sort();
      } catch (e) {
        problems.push({ file: p, path: "", message: errorText(e), io: true, code: "InputNotReadable" });
        return;
      }
      for (const e of entries) visit(path.join(p, e), false, below === "" ? e : `${below}/${e}`);
    } else if (st.isFile()) {
      if (explicit || YAML_FILE.test(p)) out.push(p);
    } else if (explicit) {
      problems.push({
        file: p,
        path: "",
        message:
          "is neither a file nor a directory (a device, socket or pipe): name YAML files or directories",
        code: "InputNotReadable",
      });
    }
  };
  for (const a of args) {
    if (a === STDIN) out.push(STDIN);
    else visit(a, true);
  }
  return out;
}

/** The line and column of `path` in the document, for a problem found there. */
function positionOf(
  source: Source | undefined,
  path: string,
  message = "",
): { line: number; column: number } | Record<string, never> {
  const p = source ? locate(source, path, unknownKeyOf(message)) : undefined;
  return p ? { line: p.line, column: p.column } : {};
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * Whether a document is for this CLI: anything of the meshward.io group (an unknown kind there is
 * most likely a typo, which validation reports) or anything claiming to be a ServiceSecurityProfile
 * or a MeshwardPolicy.
 */
function isMeshwardDocument(raw: unknown): boolean {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  const { apiVersion, kind } = raw as { apiVersion?: unknown; kind?: unknown };
  return kind === KIND || kind === POLICY_KIND || str(apiVersion).startsWith(`${GROUP}/`);
}

/** A v1 Namespace with a name: its name and string labels; undefined for anything else. */
function namespaceManifest(raw: unknown): { name: string; labels: Record<string, string> } | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const o = raw as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; labels?: unknown } };
  if (o.apiVersion !== "v1" || o.kind !== "Namespace" || typeof o.metadata?.name !== "string")
    return undefined;
  const labels: Record<string, string> = {};
  const l = o.metadata.labels;
  if (typeof l === "object" && l !== null && !Array.isArray(l))
    for (const [k, v] of Object.entries(l)) if (typeof v === "string") labels[k] = v;
  return { name: o.metadata.name, labels };
}

function isList(raw: unknown): raw is { items: unknown[] } {
  const o = raw as { apiVersion?: unknown; kind?: unknown; items?: unknown };
  return o.apiVersion === "v1" && o.kind === "List" && Array.isArray(o.items);
}

function isPolicyDocument(raw: unknown): boolean {
  return (raw as { kind?: unknown }).kind === POLICY_KIND;
}

function readText(file: string, opts: LoadOptions): string {
  if (file === STDIN) {
    if (!opts.readStdin)
      throw Object.assign(new Error("standard input is not available"), { code: "ENOSTDIN" });
    return opts.readStdin();
  }
  return fs.readFileSync(file, "utf8");
}

/** Why a file was not read (a problem) or its text. */
function readFile(
  name: string,
  opts: LoadOptions,
): { text: string } | { problem: Omit<FileProblem, "file"> } {
  try {
    const size = name === STDIN ? 0 : fs.statSync(name).size;
    if (size > MAX_FILE_BYTES)
      return {
        problem: {
          path: "",
          message: `file is too large (${(size / 1e6).toFixed(1)} MB; the limit is 1 MiB): split it, or leave it out with --exclude`,
        },
      };
    const text = readText(name, opts);
    if (text.length > MAX_FILE_BYTES)
      return { problem: { path: "", message: "input is too large (the limit is 1 MiB)" } };
    if (text.includes("\u0000"))
      return {
        problem: { path: "", message: "not a text file (it holds NUL bytes): leave it out with --exclude" },
      };
    return { text };
  } catch (e) {
    return { problem: { path: "", message: errorText(e), io: true } };
  }
}

/** The top-level fields of a Kubernetes object, and those of its metadata (ObjectMeta). */
const OBJECT_FIELDS = ["apiVersion", "kind", "metadata", "spec", "status"];
const METADATA_FIELDS = [
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
];

/**
 * Fields of a meshward document outside spec that Kubernetes does not know (`specs:`,
 * `metadata.lables`): warnings, so errors with --strict. The API server drops or refuses them;
 * spec's own unknown fields are errors of the CRD's rules already.
 */
function unknownObjectFields(raw: unknown, kind: string): Omit<FileProblem, "file">[] {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return [];
  const out: Omit<FileProblem, "file">[] = [];
  const check = (o: Record<string, unknown>, known: string[], at: string) => {
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      const c = closest(k, known);
      out.push({
        path: at,
        message: `unknown field "${k}"${c ? ` (did you mean "${c}"?)` : ""}: ${kind} has no such field, and the API server refuses or drops it; remove it or check the spelling`,
        severity: "warning",
      });
    }
  };
  const o = raw as Record<string, unknown>;
  check(o, OBJECT_FIELDS, "(root)");
  const meta = o.metadata;
  if (typeof meta === "object" && meta !== null && !Array.isArray(meta))
    check(meta as Record<string, unknown>, METADATA_FIELDS, "metadata");
  return out;
}

/** Where in a file a problem is: "document 2: spec.x", or the field alone in a one-document file. */
function at(where: string, p: string): string {
  return [where, p].filter(Boolean).join(": ");
}

export function loadProfiles(args: string[], opts: LoadOptions = {}): LoadResult {
  const loading = new Loading();
  const seen = new Set<string>();
  const inputs = collectFiles(args, loading.problems, seen, opts.walk).map((name) => ({
    name,
    policyOnly: false,
  }));
  const policyInputs = collectFiles(opts.policyPaths ?? [], loading.problems, seen, opts.walk).map(
    (name) => ({
      name,
      policyOnly: true,
    }),
  );
  for (const { name, policyOnly } of [...inputs, ...policyInputs]) loading.addFile(name, policyOnly, opts);
  return loading.result();
}

/** What loadProfiles has read so far, and how each document is added to it. */
class Loading {
  readonly problems: FileProblem[] = [];
  private readonly profiles: LoadedProfile[] = [];
  private readonly salvaged: SalvagedProfile[] = [];
  private readonly policies: LoadedPolicy[] = [];
  private readonly skipped: SkippedDocument[] = [];
  private readonly notes: Note[] = [];
  private readonly files: string[] = [];
  private readonly namespaces: LoadedNamespace[] = [];
  /** namespace/name → the file that defined the profile first. */
  private readonly byKey = new Map<string, string>();
  /** A policy's name → the file that defined it first. */
  private readonly policyFiles = new Map<string, string>();

  result(): LoadResult {
    const { profiles, salvaged, policies, problems, skipped, notes, files, namespaces } = this;
    return { profiles, salvaged, policies, problems, skipped, notes, files, namespaces };
  }

  /** A problem of one document, placed in its file: whose it is, its path and its position. */
  private report<P extends { path: string; message: string }>(
    file: string,
    who: { policy?: string; profile?: string },
    where: string,
    source: Source | undefined,
    p: P,
  ): void {
    this.problems.push({
      file,
      ...who,
      ...p,
      path: at(where, p.path),
      ...positionOf(source, p.path, p.message),
    });
  }

  /** Reads one input and adds each of its documents. */
  addFile(name: string, policyOnly: boolean, opts: LoadOptions): void {
    const file = name === STDIN ? STDIN_LABEL : name;
    this.files.push(file);
    const read = readFile(name, opts);
    if ("problem" in read) {
      this.problems.push({ file, ...read.problem, code: "InputNotReadable" });
      return;
    }
    const text = read.text;
    if (TEMPLATE_ACTION.test(text)) {
      this.notes.push({
        file,
        message:
          "skipped: a template ({{ ... }}), not YAML; render it first (e.g. helm template ... | meshward validate -)",
      });
      return;
    }
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { uniqueKeys: true, lineCounter: lines });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) =>
      this.addParsed(doc, file, list.length > 1 ? `document ${i + 1}` : "", policyOnly, lines),
    );
  }

  /** One parsed YAML document: its syntax errors, or what it holds (a List's items one by one). */
  private addParsed(
    doc: ReturnType<typeof parseAllDocuments>[number],
    file: string,
    where: string,
    policyOnly: boolean,
    lines: LineCounter,
  ): void {
    if (doc.errors.length > 0) {
      // Every syntax error of the document, each at its line.
      for (const err of doc.errors) {
        const pos = err.pos ? lines.linePos(err.pos[0]) : undefined;
        const msg = err.message.split("\n")[0] ?? "invalid YAML";
        this.problems.push({
          file,
          path: where,
          message: `not valid YAML${pos ? ` (line ${pos.line})` : ""}: ${msg}`,
          code: "InvalidYaml",
          ...(pos && { line: pos.line, column: pos.col }),
        });
      }
      return;
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      this.problems.push({
        file,
        path: where,
        message: `YAML cannot be read: ${errorText(e)}`,
        code: "InvalidYaml",
      });
      return;
    }
    if (raw === null || raw === undefined) return; // empty document
    const root = doc.contents as Node | null;
    const source = root ? { node: root, lines } : undefined;
    // `kubectl get ... -o yaml` prints a v1 List: each item is a document of its own.
    if (isList(raw)) {
      const items = isMap(root) ? root.get("items", true) : undefined;
      raw.items.forEach((item, j) => {
        const node = isSeq(items) ? (items.items[j] as Node | undefined) : undefined;
        this.addDocument(item, file, at(where, `items[${j}]`), policyOnly, node ? { node, lines } : source);
      });
    } else this.addDocument(raw, file, where, policyOnly, source);
  }

  private addDocument(raw: unknown, file: string, where: string, policyOnly: boolean, source?: Source): void {
    const ns = policyOnly ? undefined : namespaceManifest(raw);
    if (ns) {
      this.namespaces.push({ file, ...ns });
      return;
    }
    if (!isMeshwardDocument(raw)) {
      const o = (typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<
        string,
        unknown
      >;
      this.skipped.push({
        file,
        document: where,
        apiVersion: str(o.apiVersion),
        kind: str(o.kind),
        ...positionOf(source, "(root)"),
      });
      return;
    }
    if (isPolicyDocument(raw)) this.addPolicy(raw, file, where, policyOnly, source);
    else if (policyOnly)
      this.problems.push({
        file,
        path: at(where, "kind"),
        message: `--policy reads MeshwardPolicies only, not ${str((raw as { kind?: unknown }).kind) || "a document without kind"}: give profiles as inputs (without --policy)`,
        ...positionOf(source, "kind"),
      });
    else this.addProfile(raw, file, where, source);
  }

  private addPolicy(raw: unknown, file: string, where: string, viaFlag: boolean, source?: Source): void {
    const r = validatePolicy(raw);
    const meta = (raw as { metadata?: { name?: unknown } }).metadata;
    const label = typeof meta?.name === "string" ? meta.name : undefined;
    const who = label ? { policy: label } : {};
    for (const p of unknownObjectFields(raw, POLICY_KIND)) this.report(file, who, where, source, p);
    if (!r.ok) {
      for (const p of r.problems) this.report(file, who, where, source, p);
      return;
    }
    const name = r.policy.metadata.name;
    const dup = this.policyFiles.get(name);
    if (dup !== undefined) {
      this.problems.push({
        file,
        policy: name,
        path: at(where, "metadata.name"),
        message: `MeshwardPolicy ${name} is also defined in ${dup}; give each policy its own name`,
        code: "DuplicateName",
        ...positionOf(source, "metadata.name"),
      });
      return;
    }
    this.policyFiles.set(name, file);
    this.policies.push({ file, policy: r.policy, viaFlag, ...(source && { source }) });
  }

  private addProfile(raw: unknown, file: string, where: string, source?: Source): void {
    const r = validateProfile(raw);
    const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
    const label =
      typeof meta?.name === "string"
        ? `${typeof meta.namespace === "string" ? meta.namespace : "?"}/${meta.name}`
        : undefined;
    const who = label ? { profile: label } : {};
    for (const p of unknownObjectFields(raw, KIND)) this.report(file, who, where, source, p);
    if (!r.ok) {
      const s = salvageProfile(raw, r.problems);
      for (const p of [...r.problems, ...s.extra]) this.report(file, who, where, source, p);
      if (s.salvaged) {
        // Findings on it point into the file: the paths are mapped back, "document 2: " put first.
        const map = s.salvaged.mapPath;
        this.salvaged.push({
          file,
          profile: s.salvaged.profile,
          ...(source && { source }),
          mapPath: (p) => at(where, map(p)),
        });
      }
      return;
    }
    const key = `${r.profile.metadata.namespace}/${r.profile.metadata.name}`;
    const dup = this.byKey.get(key);
    if (dup !== undefined) {
      this.problems.push({
        file,
        profile: key,
        path: at(where, "metadata.name"),
        message: `profile ${key} is also defined in ${dup}: keep one of the two (one profile per service)`,
        code: "DuplicateName",
        ...positionOf(source, "metadata.name"),
      });
      return;
    }
    this.byKey.set(key, file);
    this.profiles.push({ file, profile: r.profile, ...(source && { source }) });
  }
}

/**
 * Gives each problem found after loading (a policy's finding, a fleet check, a builder's warning)
 * the line and column of its field, from the document of the profile or policy it names.
 */
export function placeProblems(loaded: LoadResult, problems: readonly FileProblem[]): FileProblem[] {
  const profiles = new Map<string, Source>();
  for (const l of [...loaded.profiles, ...(loaded.salvaged ?? [])])
    if (l.source)
      profiles.set(`${l.file}\u0000${l.profile.metadata.namespace}/${l.profile.metadata.name}`, l.source);
  const policies = new Map<string, Source>();
  for (const l of loaded.policies)
    if (l.source) policies.set(`${l.file}\u0000${l.policy.metadata.name}`, l.source);
  return problems.map((p) => {
    if (p.line !== undefined) return p;
    const source =
      p.profile !== undefined
        ? profiles.get(`${p.file}\u0000${p.profile}`)
        : p.policy !== undefined
          ? policies.get(`${p.file}\u0000${p.policy}`)
          : undefined;
    // The path within the document: without "document 2: " or "items[1]: " in front.
    const inDocument = p.path.replace(/^(document \d+: )?(items\[\d+\]: )?/, "");
    return source ? { ...p, ...positionOf(source, inDocument, p.message) } : p;
  });
}
