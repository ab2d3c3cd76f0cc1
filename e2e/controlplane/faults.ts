// Fault injection on a running local bed (not kind), for e2e/faults.e2e.test.ts and the soak:
// kill kube-apiserver and start it again with the same flags, compact etcd.
import * as fs from "node:fs";
import { sleep } from "../../test-support/harness/wait.ts";
import { TestbedError } from "./build.ts";
import { startApiserverProcess } from "./local.ts";
import { probe, processAlive, waitReady } from "./process.ts";
import { type Ports, type State, readState, writeState } from "./state.ts";

function runningLocalState(): State & { ports: Ports; bins: NonNullable<State["bins"]> } {
  const s = readState();
  if (!s || s.mode !== "local" || !s.ports || !s.bins || !s.apiserverArgv) {
    throw new TestbedError("fault injection needs a running local test bed (not kind)");
  }
  return s as State & { ports: Ports; bins: NonNullable<State["bins"]> };
}

/** Kills kube-apiserver (SIGKILL by default) and waits until it is gone. etcd keeps running. */
export async function killApiserver(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  const s = runningLocalState();
  const pid = s.pids.kubeApiserver;
  if (!pid || !processAlive(pid, s.bins.kubeApiserver)) return;
  process.kill(pid, signal);
  for (let i = 0; i < 200 && processAlive(pid, s.bins.kubeApiserver); i++) await sleep(50);
}

/** Starts kube-apiserver again with the same flags, and waits for /readyz. */
export async function startApiserver(timeoutMs = 60_000): Promise<void> {
  const s = runningLocalState();
  const bin = s.bins.kubeApiserver as string;
  if (s.pids.kubeApiserver && processAlive(s.pids.kubeApiserver, bin)) return;
  const apiserver = startApiserverProcess(bin, s.apiserverArgv as string[]);
  s.pids.kubeApiserver = apiserver.pid;
  writeState(s);
  const ca = fs.readFileSync(s.caFile as string, "utf8");
  await waitReady(
    apiserver,
    "ready",
    timeoutMs,
    async () => (await probe(`${s.server}/readyz`, { ca, token: s.adminToken as string }))?.status === 200,
    s.ports.kubeApiserver,
  );
}

/** Compacts etcd up to its current revision: watches from older resourceVersions get 410 Gone. */
export async function compactEtcd(): Promise<number> {
  const s = runningLocalState();
  const url = `http://127.0.0.1:${s.ports.etcdClient}`;
  const post = async (p: string, body: unknown) => {
    const r = await fetch(`${url}${p}`, { method: "POST", body: JSON.stringify(body) });
    if (r.status !== 200) {
      const text = await r.text();
      // kube-apiserver compacts etcd itself every few minutes: already compacted is fine.
      if (text.includes("required revision has been compacted")) return {};
      throw new TestbedError(`etcd ${p}: HTTP ${r.status} ${text}`);
    }
    return (await r.json()) as { header?: { revision?: string } };
  };
  const head = await post("/v3/kv/range", { key: Buffer.from("/").toString("base64"), limit: 1 });
  const revision = Number(head.header?.revision ?? 0);
  await post("/v3/kv/compaction", { revision: String(revision), physical: true });
  return revision;
}
