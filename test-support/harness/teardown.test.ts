import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { runCommand, Teardown } from "./teardown.ts";

/** A process whose exit is recorded and whose signals the test sends. */
function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  let exited: (code: number) => void = () => undefined;
  const exitedOnce = new Promise<number>((r) => (exited = r));
  return {
    on: (event: "SIGINT" | "SIGTERM", fn: () => void) => emitter.on(event, fn),
    exit: (code: number) => {
      exits.push(code);
      exited(code);
    },
    signal: (sig: "SIGINT" | "SIGTERM") => emitter.emit(sig),
    exits,
    exitedOnce,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("Teardown", () => {
  it("runs every step once, last registered first, also when run twice at once", async () => {
    const done: string[] = [];
    const t = new Teardown(() => undefined);
    t.add("test bed", () => void done.push("test bed"));
    t.add("operator", async () => {
      await tick();
      done.push("operator");
    });
    await Promise.all([t.run(), t.run()]);
    await t.run();
    expect(done).toEqual(["operator", "test bed"]);
  });

  it("goes on after a failing step and logs which one failed", async () => {
    const done: string[] = [];
    const logged: string[] = [];
    const t = new Teardown((m) => logged.push(m));
    t.add("test bed", () => void done.push("test bed"));
    t.add("namespaces", () => {
      throw new Error("forbidden");
    });
    await t.run();
    expect(done).toEqual(["test bed"]);
    expect(logged).toEqual(["clean-up: namespaces failed: forbidden"]);
  });

  it("skips a step whose thing the command undid itself", async () => {
    const done: string[] = [];
    const t = new Teardown(() => undefined);
    const remove = t.add("operator", () => void done.push("operator"));
    t.add("test bed", () => void done.push("test bed"));
    remove();
    await t.run();
    expect(done).toEqual(["test bed"]);
  });

  it("runs a step added after the tear-down began, after the others", async () => {
    const done: string[] = [];
    const t = new Teardown(() => undefined);
    t.add("test bed", async () => {
      await tick();
      done.push("test bed");
    });
    const running = t.run();
    expect(t.started).toBe(true);
    t.add("late operator", () => void done.push("late operator"));
    await running;
    await t.run();
    expect(done).toEqual(["test bed", "late operator"]);
  });
});

describe("runCommand", () => {
  it("tears down and exits 0 when the command succeeds", async () => {
    const p = fakeProcess();
    const done: string[] = [];
    const t = new Teardown(() => undefined);
    await runCommand("bench", async () => void t.add("operator", () => void done.push("operator")), t, {}, p);
    expect(done).toEqual(["operator"]);
    expect(p.exits).toEqual([0]);
  });

  it("says why, tears down and exits 1 when the command fails", async () => {
    const p = fakeProcess();
    const errors: string[] = [];
    const done: string[] = [];
    const t = new Teardown(() => undefined);
    await runCommand(
      "bench",
      async () => {
        t.add("test bed", () => void done.push("test bed"));
        throw new Error("only 3/10 Ready after 900s");
      },
      t,
      { error: (m) => errors.push(m) },
      p,
    );
    expect(errors).toEqual(["bench failed: only 3/10 Ready after 900s"]);
    expect(done).toEqual(["test bed"]);
    expect(p.exits).toEqual([1]);
  });

  it("on SIGINT tears down, then exits 130, whatever the interrupted command does next", async () => {
    const p = fakeProcess();
    const done: string[] = [];
    const t = new Teardown(() => undefined);
    let interrupt: (e: Error) => void = () => undefined;
    const command = runCommand(
      "bench",
      () => {
        t.add("test bed", () => void done.push("test bed"));
        t.add("operator", () => void done.push("operator"));
        // The command waits on the operator; the tear-down kills it, so the wait fails.
        return new Promise<void>((_, reject) => (interrupt = reject));
      },
      t,
      { error: () => undefined },
      p,
    );
    p.signal("SIGINT");
    expect(await p.exitedOnce).toBe(130);
    expect(done).toEqual(["operator", "test bed"]);
    interrupt(new Error("operator exited"));
    await command;
    expect(p.exits).toEqual([130]);
  });

  it("exits at once on a second signal, and with the given code for the demo", async () => {
    const p = fakeProcess();
    const t = new Teardown(() => undefined);
    t.add("slow", () => new Promise<void>(() => undefined));
    void runCommand(
      "demo",
      () => new Promise<void>(() => undefined),
      t,
      { signalExitCode: 0, error: () => undefined },
      p,
    );
    p.signal("SIGTERM");
    await tick();
    expect(p.exits).toEqual([]);
    p.signal("SIGINT");
    expect(p.exits).toEqual([1]);

    const q = fakeProcess();
    const u = new Teardown(() => undefined);
    void runCommand(
      "demo",
      () => new Promise<void>(() => undefined),
      u,
      { signalExitCode: 0, error: () => undefined },
      q,
    );
    q.signal("SIGINT");
    expect(await q.exitedOnce).toBe(0);
  });
});
