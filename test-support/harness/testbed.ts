// The local test bed for a command (bench, soak, demo): brought up or reused, and stopped by the
// command's tear-down when this run started it.
import { type ClusterInfo, down, status, up, type UpOptions } from "../../e2e/controlplane/testbed.ts";
import type { Teardown } from "./teardown.ts";

export interface BedOptions {
  up?: UpOptions;
  /** Leave a bed this run started running afterwards. */
  keep?: boolean;
  log: (message: string) => void;
}

export interface Bed extends ClusterInfo {
  /** True when the tear-down will stop this bed (so what is in it need not be deleted first). */
  stopsAtEnd(): boolean;
}

export async function useTestbed(teardown: Teardown, opts: BedOptions): Promise<Bed> {
  // Registered before up(): a failure or a Ctrl-C during up() still stops a bed this run started
  // (down() waits for up() to finish: they share a lock).
  let own = !(await status()).running;
  teardown.add("the test bed", async () => {
    if (!own) return;
    if (opts.keep) {
      opts.log("the test bed this run started keeps running");
      return;
    }
    opts.log("stopping the test bed this run started…");
    await down();
  });
  const info = await up(opts.up ?? {});
  own ||= !info.reused;
  return { ...info, stopsAtEnd: () => own && !opts.keep };
}
