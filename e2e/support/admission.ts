// Requests whose answer matters at admission: the status, the API server's warnings (KubeClient does
// not surface them) and the refusal's message, as any client sees them.
import { KubeConfig, RequestContext } from "@kubernetes/client-node";
import { fetch } from "undici";

export interface Answer {
  status: number;
  warnings: string[];
  message: string;
}

export async function send(
  kc: KubeConfig,
  method: "POST" | "PATCH" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<Answer> {
  const url = new URL(kc.getCurrentCluster()?.server + path);
  const ctx = new RequestContext(url.toString(), method);
  await kc.applySecurityAuthentication(ctx);
  const res = await fetch(url, {
    method,
    headers: { ...ctx.getHeaders(), "Content-Type": contentType, Accept: "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    dispatcher: ctx.getDispatcher(),
  });
  const text = await res.text();
  const warnings = (res.headers.get("warning") ?? "")
    .split(/,\s*(?=299 )/)
    .filter((w) => w !== "")
    .map((w) => w.replace(/^299 - "/, "").replace(/"$/, ""));
  let message: string;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? "";
  } catch {
    message = text;
  }
  return { status: res.status, warnings, message };
}

/** A kubeconfig loaded from a file. */
export function loadKubeconfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}
