// API requests per user, from the test bed's audit log. The benchmark starts the API server with a
// policy that records every request (reads too) at Metadata level; each request is counted once
// (a watch logs two stages under one audit ID).
import * as fs from "node:fs";

export const AUDIT_ALL_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

export const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

export interface AuditRecord {
  /** ms since the epoch (requestReceivedTimestamp) */
  t: number;
  user: string;
  verb: string;
  resource: string;
}

export interface RequestCounts {
  requests: number;
  writes: number;
  /** writes to coordination.k8s.io Leases (leader election renewals) */
  leaseWrites: number;
  /** writes to Events */
  eventWrites: number;
}

/** Parses audit log lines (JSON) into records, one per audit ID; `seen` carries IDs across calls. */
export function parseAuditLines(lines: string[], seen: Set<string>): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    let e: {
      auditID?: string;
      verb?: string;
      user?: { username?: string };
      objectRef?: { resource?: string };
      requestReceivedTimestamp?: string;
    };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue; // a line cut by rotation
    }
    if (!e.auditID || seen.has(e.auditID)) continue;
    seen.add(e.auditID);
    out.push({
      t: Date.parse(e.requestReceivedTimestamp ?? ""),
      user: e.user?.username ?? "",
      verb: e.verb ?? "",
      resource: e.objectRef?.resource ?? "",
    });
  }
  return out;
}

/** Counts the requests of `users` received in [from, to] (ms since the epoch). */
export function countRequests(
  records: AuditRecord[],
  users: string[],
  from: number,
  to: number,
): RequestCounts {
  const c: RequestCounts = { requests: 0, writes: 0, leaseWrites: 0, eventWrites: 0 };
  for (const r of records) {
    if (r.t < from || r.t > to || !users.includes(r.user)) continue;
    c.requests++;
    if (!WRITE_VERBS.has(r.verb)) continue;
    c.writes++;
    if (r.resource === "leases") c.leaseWrites++;
    if (r.resource === "events") c.eventWrites++;
  }
  return c;
}

/** Follows the audit log file, keeping compact records of everything read so far. */
export class AuditLog {
  readonly records: AuditRecord[] = [];
  private offset = 0;
  private rest = "";
  private readonly seen = new Set<string>();
  private readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  /** Reads what the API server appended since the last call. */
  poll(): AuditRecord[] {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return this.records;
    }
    if (size < this.offset) {
      // rotated: start over in the new file (the benchmark sets a size limit that is never reached)
      this.offset = 0;
      this.rest = "";
    }
    if (size === this.offset) return this.records;
    const fd = fs.openSync(this.file, "r");
    try {
      const chunk = 16 * 1024 * 1024;
      const buf = Buffer.alloc(chunk);
      while (this.offset < size) {
        const n = fs.readSync(fd, buf, 0, Math.min(chunk, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const lines = (this.rest + buf.subarray(0, n).toString("utf8")).split("\n");
        this.rest = lines.pop() ?? "";
        for (const r of parseAuditLines(lines, this.seen)) this.records.push(r);
      }
    } finally {
      fs.closeSync(fd);
    }
    return this.records;
  }

  count(users: string[], from: number, to: number): RequestCounts {
    return countRequests(this.poll(), users, from, to);
  }

  /** Time of the last write by `users` (ignoring lease renewals) at or after `from`; 0 if none. */
  lastWrite(users: string[], from: number): number {
    let last = 0;
    for (const r of this.poll()) {
      if (r.t >= from && users.includes(r.user) && WRITE_VERBS.has(r.verb) && r.resource !== "leases") {
        last = Math.max(last, r.t);
      }
    }
    return last;
  }
}
