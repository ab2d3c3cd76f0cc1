// Test harness (not used by the operator): runs operator/argocd/health.lua in a real Lua 5.1
// interpreter the way Argo CD does: the object as the global `obj`, only the base and table
// libraries visible, the returned table read as {status, message}.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const HEALTH_LUA = path.join(import.meta.dirname, "health.lua");
export const TESTDATA = path.join(import.meta.dirname, "testdata");

/** Argo CD's health codes; anything else makes Argo CD show Unknown ("invalid health status"). */
export const HEALTH_CODES = [
  "Healthy",
  "Progressing",
  "Degraded",
  "Suspended",
  "Missing",
  "Unknown",
] as const;
export type HealthCode = (typeof HEALTH_CODES)[number];

export interface Health {
  status: HealthCode;
  message?: string;
}

/** The interpreter: $LUA, else `lua5.1` on PATH (Debian package lua5.1). */
export function luaCommand(): string {
  return process.env.LUA ?? "lua5.1";
}

/** A Lua 5.1 string literal. Lua 5.1 has no \x or \u escapes: every other byte is written as \ddd. */
export function luaString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, "utf8")) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, "0")}`;
  }
  return `${out}"`;
}

/**
 * A JSON value as a Lua 5.1 expression, with the shapes gopher-lua gives Argo CD's scripts:
 * objects become tables keyed by string, arrays 1-based sequences, null nil.
 */
export function luaLiteral(v: unknown): string {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`not a JSON number: ${v}`);
    return String(v);
  }
  if (typeof v === "string") return luaString(v);
  if (Array.isArray(v)) return `{${v.map(luaLiteral).join(", ")}}`;
  if (typeof v === "object") {
    const fields = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `[${luaString(k)}] = ${luaLiteral(x)}`,
    );
    return `{${fields.join(", ")}}`;
  }
  throw new Error(`not JSON: ${typeof v}`);
}

// The driver: loads the script from arg[1] into an environment with only what Argo CD opens
// (base and table; `string`, `math`, `io` and `os` are absent and strings have no methods), runs
// it, and prints the returned table as JSON with its own saved copies of string functions.
const DRIVER = `
local format, gsub, byte = string.format, string.gsub, string.byte
local chunk, err = loadfile(arg[1])
if not chunk then io.stderr:write("load: ", tostring(err), "\\n") os.exit(2) end
local env = { table = table, obj = OBJ }
for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
  "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "unpack",
  "xpcall", "_VERSION" }) do
  env[name] = _G[name]
end
env._G = env
setfenv(chunk, env)
local strings = getmetatable("")
local methods = strings.__index
strings.__index = nil
local ok, result = pcall(chunk)
strings.__index = methods
if not ok then io.stderr:write("run: ", tostring(result), "\\n") os.exit(3) end
if type(result) ~= "table" then io.stderr:write("the script returned a ", type(result), ", not a table\\n") os.exit(4) end
local function quote(s)
  return '"' .. gsub(s, '[%c"\\\\]', function(c) return format("\\\\u%04x", byte(c)) end) .. '"'
end
local parts = {}
for k, v in pairs(result) do
  if type(k) ~= "string" or type(v) ~= "string" then
    io.stderr:write("the returned table has a non-string field ", tostring(k), "\\n") os.exit(5)
  end
  parts[#parts + 1] = quote(k) .. ":" .. quote(v)
end
io.write("{", table.concat(parts, ","), "}\\n")
`;

/** Runs the health script on `obj` (a Kubernetes object as JSON) and returns what Argo CD would show. */
export function runHealth(obj: unknown, script = HEALTH_LUA): Health {
  const program = `local OBJ = ${luaLiteral(obj)}\n${DRIVER}`;
  const r = spawnSync(luaCommand(), ["-", script], { input: program, encoding: "utf8" });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(
      missing
        ? `${luaCommand()} not found: the Argo CD health tests need a Lua 5.1 interpreter (apt-get install lua5.1, or set LUA)`
        : `${luaCommand()}: ${r.error.message}`,
    );
  }
  if (r.status !== 0) throw new Error(`${luaCommand()} exited with ${r.status}: ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout) as Record<string, string>;
  if (!HEALTH_CODES.includes(out.status as HealthCode))
    throw new Error(`the script returned an invalid health status: ${JSON.stringify(out)}`);
  return out as unknown as Health;
}
