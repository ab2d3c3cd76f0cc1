// meshward e2e test bed, the command line: a real local Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager built from the official Go modules) or, with --kind /
// MESHWARD_TESTBED=kind, a kind cluster. The code is in testbed.ts (up, down, status), local.ts,
// kind.ts, pki.ts, process.ts, state.ts, faults.ts; build.ts builds the binaries.
//
//   node e2e/controlplane/cluster.ts up [--no-istio] [--no-eso] [--kind] [--no-audit] [--apiserver-arg=--flag=value ...]
//   node e2e/controlplane/cluster.ts down
//   node e2e/controlplane/cluster.ts status
//   node e2e/controlplane/cluster.ts build [--all]
//   node e2e/controlplane/cluster.ts helm [helm args...]
//
// The admin kubeconfig is written to .cache/kubeconfig at the repository root.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { TestbedError, ensureBinaries, ensureHelm, log } from "./build.ts";
import { ensureActionlint } from "./actionlint.ts";
import { ensureArgocdLua } from "./argocd-lua.ts";
import { ensureEso } from "./eso.ts";
import { ensureIstioctl } from "./istioctl.ts";
import { formatElapsed } from "./progress.ts";
import { fetchUpstream, upstreamCrds, upstreamPins, type UpstreamName } from "./upstream.ts";
import { KIND_CLUSTER } from "./kind.ts";
import { down, status, up, type UpOptions } from "./testbed.ts";

const USAGE = `usage: node e2e/controlplane/cluster.ts <command>
  up [--no-istio] [--no-eso] [--kind] [--no-audit] [--apiserver-arg=--flag=value ...] [--controller-manager-arg=...]
  down
  status
  build [--all]         (the control plane binaries and helm; --all: every tool of the test bed and
                        the upstream CRD modules too, as a first \`npm test\` builds them)
  helm [args...]        (runs the helm built from e2e/controlplane/helm, building it first if needed)`;

/**
 * Every other tool the e2e suite builds on first use, and the upstream CRD modules it downloads
 * (not Kyverno: only `npm run bench:peer` uses it).
 */
async function buildAll(): Promise<Record<string, string>> {
  const istioctl = (await ensureIstioctl()).istioctl;
  const eso = (await ensureEso()).bin;
  const argocdLua = await ensureArgocdLua();
  const actionlint = await ensureActionlint();
  for (const name of Object.keys(upstreamPins()) as UpstreamName[]) {
    await fetchUpstream(name);
    upstreamCrds(name);
  }
  return { istioctl, eso, argocdLua, actionlint };
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  const rest = argv.slice(1);
  switch (cmd) {
    case "up": {
      const opts: UpOptions = { apiserverArgs: [], controllerManagerArgs: [] };
      for (const a of rest) {
        if (a === "--no-istio") opts.istio = false;
        else if (a === "--no-eso") opts.eso = false;
        else if (a === "--kind") opts.kind = true;
        else if (a === "--audit") opts.audit = true;
        else if (a === "--no-audit") opts.audit = false;
        else if (a.startsWith("--apiserver-arg="))
          opts.apiserverArgs?.push(a.slice("--apiserver-arg=".length));
        else if (a.startsWith("--controller-manager-arg="))
          opts.controllerManagerArgs?.push(a.slice("--controller-manager-arg=".length));
        else throw new TestbedError(`unknown option ${a}\n${USAGE}`, 2);
      }
      const info = await up(opts);
      const what = info.mode === "kind" ? `kind cluster ${KIND_CLUSTER}` : `control plane ${info.server}`;
      log(
        `${info.reused ? "reused" : "started"} ${what} (kubernetes ${info.kubernetesVersion}) in ${(info.upMs / 1000).toFixed(1)}s`,
      );
      process.stdout.write(`export KUBECONFIG=${info.kubeconfig}\n`);
      return 0;
    }
    case "down": {
      const r = await down();
      log(r.stopped ? "test bed stopped" : "no running test bed (cleaned up its data)");
      return 0;
    }
    case "status": {
      const s = await status();
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return s.running ? 0 : 1;
    }
    case "build": {
      const started = Date.now();
      const b = await ensureBinaries();
      const h = await ensureHelm();
      const all = rest.includes("--all") ? await buildAll() : {};
      process.stdout.write(
        `${JSON.stringify({ ...b, helm: h.helm, helmVersion: h.version, ...all }, null, 2)}\n`,
      );
      log(`build done in ${formatElapsed(Date.now() - started)}`);
      return 0;
    }
    case "helm": {
      const { helm } = await ensureHelm();
      const r = spawnSync(helm, rest, { stdio: "inherit" });
      if (r.error) throw new TestbedError(`cannot run ${helm}: ${r.error.message}`);
      return r.status ?? 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof TestbedError) {
        const msg = e.message.startsWith("meshward test bed:")
          ? e.message
          : `meshward test bed: ${e.message}`;
        process.stderr.write(`${msg}\n`);
        process.exit(e.exitCode);
      }
      process.stderr.write(`meshward test bed: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
