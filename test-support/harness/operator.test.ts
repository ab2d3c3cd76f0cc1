import { describe, expect, it } from "vitest";
import { lastFlag, parseMetrics, sumMetric } from "./operator.ts";

const text = `# HELP meshward_api_requests_total API requests
# TYPE meshward_api_requests_total counter
meshward_api_requests_total{verb="create",resource="networkpolicies"} 3
meshward_api_requests_total{verb="create",resource="serviceaccounts"} 2
meshward_api_requests_total{verb="get",resource="leases"} 7
meshward_api_requests_total_extra{verb="create"} 100
workqueue_depth 0
nodejs_heap_size_used_bytes 1.5e7
`;

describe("operator metrics", () => {
  it("parses series as written, skipping comments", () => {
    const m = parseMetrics(text);
    expect(m.get('meshward_api_requests_total{verb="get",resource="leases"}')).toBe(7);
    expect(m.get("nodejs_heap_size_used_bytes")).toBe(15_000_000);
    expect(m.size).toBe(6);
  });

  it.each([
    ["meshward_api_requests_total", undefined, 12],
    ["meshward_api_requests_total", { verb: "create" }, 5],
    ["meshward_api_requests_total", { verb: "create", resource: "serviceaccounts" }, 2],
    ["meshward_api_requests_total", { verb: "delete" }, 0],
    ["workqueue_depth", undefined, 0],
    ["meshward_missing", undefined, 0],
  ])("sums %s %j to %d (only that metric, not one whose name it begins)", (name, labels, sum) => {
    expect(sumMetric(parseMetrics(text), name, labels)).toBe(sum);
  });
});

describe("lastFlag", () => {
  it("finds a flag's last value in either form, as parseArgs would take it", () => {
    const args = ["--health-port", "0", "--metrics-secure", "false", "--health-port=9091", "--x"];
    expect(lastFlag(args, "health-port")).toBe("9091");
    expect(lastFlag(args, "metrics-secure")).toBe("false");
    expect(lastFlag([...args, "--health-port", "9092"], "health-port")).toBe("9092");
    expect(lastFlag(args, "health")).toBeUndefined();
    expect(lastFlag(args, "y")).toBeUndefined();
  });
});
