// Free TCP ports on 127.0.0.1 for the processes the test bed, e2e, bench and demo start.
import * as net from "node:net";

/** True when nothing listens on `port` of 127.0.0.1 (checked by listening on it, exclusively). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The range ports are picked from: below Linux's ephemeral range (32768-60999 by default). */
export const PORT_RANGE = { from: 20000, to: 32000 } as const;

/**
 * A free port below Linux's ephemeral range. Ports from that range can be taken as the source port
 * of any outgoing connection while a process is down, and then the process (kube-apiserver restarted
 * by a fault test, an operator restarted on its port) cannot listen on its port again. `taken`
 * holds ports already handed out for processes not listening yet; the one returned is added to it.
 */
export async function freePort(taken: Set<number> = new Set()): Promise<number> {
  const span = PORT_RANGE.to - PORT_RANGE.from;
  for (let i = 0; i < 200; i++) {
    const candidate = PORT_RANGE.from + Math.floor(Math.random() * span);
    if (taken.has(candidate) || !(await portFree(candidate))) continue;
    taken.add(candidate);
    return candidate;
  }
  throw new Error(
    `could not find a free TCP port on 127.0.0.1 between ${PORT_RANGE.from} and ${PORT_RANGE.to}`,
  );
}
