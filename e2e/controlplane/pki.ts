// The local bed's credentials: the service account signing key pair, static bearer tokens for the
// admin and kube-controller-manager, and kubeconfigs that trust kube-apiserver's self-signed serving
// certificate (kube-apiserver writes it to its --cert-dir at start).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";

/** Writes sa.pub and sa.key (RSA 2048) to `dir`. */
export function writeServiceAccountKeys(dir: string): { publicKeyFile: string; privateKeyFile: string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  const publicKeyFile = path.join(dir, "sa.pub");
  const privateKeyFile = path.join(dir, "sa.key");
  fs.writeFileSync(publicKeyFile, publicKey);
  fs.writeFileSync(privateKeyFile, privateKey, { mode: 0o600 });
  return { publicKeyFile, privateKeyFile };
}

/** Fresh tokens for kube-apiserver's --token-auth-file: the admin (system:masters) and the controller manager. */
export function writeTokens(dir: string): { tokenFile: string; adminToken: string; kcmToken: string } {
  const adminToken = randomBytes(32).toString("hex");
  const kcmToken = randomBytes(32).toString("hex");
  const tokenFile = path.join(dir, "tokens.csv");
  fs.writeFileSync(
    tokenFile,
    `${adminToken},meshward-admin,meshward-admin,"system:masters"\n` +
      `${kcmToken},system:kube-controller-manager,system:kube-controller-manager\n`,
    { mode: 0o600 },
  );
  return { tokenFile, adminToken, kcmToken };
}

/** kube-apiserver's serving certificate (its own CA), once it has written all of it; else undefined. */
export function readServingCa(caFile: string): string | undefined {
  try {
    const ca = fs.readFileSync(caFile, "utf8");
    return ca.includes("END CERTIFICATE") ? ca : undefined;
  } catch {
    return undefined;
  }
}

export function writeKubeconfig(
  file: string,
  server: string,
  caPem: string,
  user: string,
  token: string,
): void {
  const cfg = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "meshward",
        cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "meshward", context: { cluster: "meshward", user } }],
    "current-context": "meshward",
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, stringify(cfg), { mode: 0o600 });
}
