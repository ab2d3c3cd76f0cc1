// The kubeconfig loader: which cluster and credentials it picks, and clear errors for what it
// does not support.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KubeConfigError, loadKubeConfig } from "./kubeconfig.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-kubeconfig-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

const config = (user: string, current = "c") => `
apiVersion: v1
kind: Config
current-context: ${current}
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters: [{ name: k, cluster: { server: "https://127.0.0.1:6443/", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: ${user} }]
`;

describe("loadKubeConfig", () => {
  it("takes the current context's server and bearer token", async () => {
    const kc = loadKubeConfig(write("token.yaml", config("{ token: abc }")));
    expect(kc.server).toBe("https://127.0.0.1:6443");
    expect(await kc.headers()).toEqual({ Authorization: "Bearer abc" });
  });

  it("reads a token file relative to the kubeconfig", async () => {
    write("tok", "from-file\n");
    const kc = loadKubeConfig(write("tokenfile.yaml", config("{ tokenFile: tok }")));
    expect(await kc.headers()).toEqual({ Authorization: "Bearer from-file" });
  });

  it("merges $KUBECONFIG files, the first one winning", async () => {
    const a = write("a.yaml", "current-context: c\n");
    const b = write("b.yaml", config("{ token: from-b }", "other"));
    const kc = loadKubeConfig(undefined, { KUBECONFIG: [a, b].join(path.delimiter) });
    expect(await kc.headers()).toEqual({ Authorization: "Bearer from-b" });
  });

  it("runs an exec credential plugin and keeps its token until it expires", async () => {
    const count = path.join(dir, "runs");
    const script = write(
      "plugin.mjs",
      `import fs from "node:fs"; fs.appendFileSync(${JSON.stringify(count)}, "x");
       console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential",
         status: { token: "exec-" + process.env.WHO, expirationTimestamp: "2999-01-01T00:00:00Z" } }));`,
    );
    const user = `{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(script)}], env: [{ name: WHO, value: me }] } }`;
    const kc = loadKubeConfig(write("exec.yaml", config(user)));
    expect(await kc.headers()).toEqual({ Authorization: "Bearer exec-me" });
    expect(await kc.headers()).toEqual({ Authorization: "Bearer exec-me" });
    expect(fs.readFileSync(count, "utf8")).toBe("x");
  });

  it("says what to do for an auth-provider, a missing context, and no kubeconfig at all", () => {
    expect(() => loadKubeConfig(write("oidc.yaml", config("{ auth-provider: { name: oidc } }")))).toThrow(
      /auth-provider "oidc" is not supported; use an exec credential plugin/,
    );
    expect(() => loadKubeConfig(write("nocontext.yaml", config("{ token: x }", "missing")))).toThrow(
      /current-context "missing" is not in contexts/,
    );
    expect(() => loadKubeConfig(undefined, { KUBECONFIG: path.join(dir, "absent") })).toThrow(
      KubeConfigError,
    );
  });
});
