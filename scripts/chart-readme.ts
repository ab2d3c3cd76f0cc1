// charts/meshward/README.md from charts/meshward/values.yaml: each value's comment is its
// description, the file's opening comment the introduction; values.schema.json says which maps are
// the chart's own (described key by key) and which are passed through (one row). Pure: `npm run gen`
// reads the files and writes the result (scripts/gen.ts).
import { isMap, isPair, isScalar, parseDocument, type Pair, type YAMLMap } from "yaml";

export interface ValueRow {
  key: string;
  default: string;
  description: string;
}

/** The part of values.schema.json read here: which keys of a map are the chart's own. */
export interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  [keyword: string]: unknown;
}

/** A YAML comment as one line of Markdown: `#` prefixes gone, lines joined, `|` escaped. */
function prose(comment: string | undefined): string {
  if (!comment) return "";
  return (
    comment
      .split("\n")
      .map((l) => l.trim())
      // Section markers ("--- operator configuration") head a group in values.yaml, not a value.
      .filter((l) => l !== "" && !l.startsWith("---"))
      .join(" ")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/\|/g, "\\|")
  );
}

/** A default as inline code (JSON for maps and lists, so that it reads on one line). */
function inline(value: unknown): string {
  const text =
    value === null ? "null" : typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value);
  return `\`${text.replace(/\|/g, "\\|")}\``;
}

function collect(
  map: YAMLMap,
  schema: SchemaNode | undefined,
  prefix: string,
  first: string | undefined,
  rows: ValueRow[],
) {
  map.items.forEach((item, i) => {
    if (!isPair(item) || !isScalar(item.key)) return;
    const pair = item as Pair<{ value: unknown; commentBefore?: string | null }, unknown>;
    const key = `${prefix}${String(pair.key.value)}`;
    const comment = (i === 0 ? first : undefined) ?? pair.key.commentBefore ?? undefined;
    const own = schema?.properties?.[String(pair.key.value)];
    const value = pair.value;
    if (isMap(value) && own?.properties && value.items.length > 0) {
      if (comment) rows.push({ key, default: "", description: prose(comment) });
      collect(value, own, `${key}.`, value.commentBefore ?? undefined, rows);
      return;
    }
    const trailing = isScalar(value) || isMap(value) ? (value.comment ?? undefined) : undefined;
    const js: unknown =
      value && typeof value === "object" && "toJSON" in value
        ? (value as { toJSON(): unknown }).toJSON()
        : value;
    rows.push({
      key,
      default: inline(js),
      description: prose([comment, trailing].filter(Boolean).join("\n")),
    });
  });
}

/** Every value of values.yaml in file order, and the file's opening comment. */
export function valueRows(valuesYaml: string, schema: SchemaNode): { intro: string; rows: ValueRow[] } {
  const doc = parseDocument(valuesYaml);
  if (doc.errors.length > 0) throw new Error(`values.yaml: ${doc.errors[0]?.message}`);
  if (!isMap(doc.contents)) throw new Error("values.yaml: expected a map of values at the top");
  const top = doc.contents;
  // The opening comment and the first value's own comment come as one, split at a blank line.
  const firstKey = top.items[0]?.key as { commentBefore?: string | null } | undefined;
  const opening = doc.commentBefore ?? firstKey?.commentBefore ?? "";
  const cut = opening.lastIndexOf("\n\n");
  const intro = cut >= 0 ? opening.slice(0, cut) : doc.commentBefore ? opening : "";
  const first = cut >= 0 ? opening.slice(cut + 2) : doc.commentBefore ? undefined : opening;
  const rows: ValueRow[] = [];
  collect(top, schema, "", first || undefined, rows);
  return { intro: prose(intro), rows };
}

export interface ChartInfo {
  name: string;
  version: string;
  appVersion: string;
  description: string;
  kubeVersion: string;
}

export function renderChartReadme(
  header: string,
  chart: ChartInfo,
  valuesYaml: string,
  schema: SchemaNode,
): string {
  const { intro, rows } = valueRows(valuesYaml, schema);
  const table = [
    "| Key | Default | Description |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| \`${r.key}\` | ${r.default} | ${r.description} |`),
  ];
  return [
    `<!-- ${header} Source: charts/meshward/values.yaml (its comments), through scripts/chart-readme.ts. -->`,
    "",
    `# ${chart.name}`,
    "",
    `${chart.description}.`,
    "",
    `Chart version ${chart.version}, meshward ${chart.appVersion}, Kubernetes ${chart.kubeVersion.replace(/^>=/, "≥ ").replace(/-0$/, "")}.`,
    "",
    "## Install, upgrade, uninstall",
    "",
    "```sh",
    `helm install meshward charts/meshward -n meshward-system --create-namespace`,
    `helm upgrade meshward charts/meshward -n meshward-system --reuse-values`,
    `helm uninstall meshward -n meshward-system   # crds.keep (default true) leaves the CRDs, the profiles and the default policy`,
    "```",
    "",
    "The first install also works on a cluster without meshward's CRDs: both CRDs are release objects,",
    "and the default MeshwardPolicy is created after them by a post-install hook; upgrades patch it in",
    "place and never delete it (ADR 23). The whole procedure, the CRD upgrade note and what each",
    "default enforces:",
    "[docs/install.md](../../docs/install.md).",
    "",
    "## Values",
    "",
    intro,
    "",
    ...table,
    "",
  ].join("\n");
}
