import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The default reporter prints a file when it ends; the heartbeat names a test still running
    // every 20 s, so a CI log is never silent for long inside an e2e file.
    reporters: ["default", "./test-support/heartbeat-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "operator/**/*.test.ts",
            "scripts/**/*.test.ts",
            "argocd/**/*.test.ts",
            "test-support/**/*.test.ts",
            "bench/**/*.test.ts",
            // The test bed's own pure parts (e.g. the build progress ticker); its e2e tests are *.e2e.test.ts.
            "e2e/controlplane/**/*.test.ts",
          ],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.e2e.test.ts"],
          environment: "node",
          globalSetup: ["e2e/support/global-setup.ts"],
          // One control plane for all files; each test works in its own namespace.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
