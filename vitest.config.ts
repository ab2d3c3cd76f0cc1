import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
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
