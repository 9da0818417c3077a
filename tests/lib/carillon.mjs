// Starts the carillon binary named by $CARILLON_BIN for a Node test suite:
// on a free loopback port (port 0; the bound address is read from the
// server's "carillon listening" log line), with a throwaway data directory,
// plus the flags in $CARILLON_SERVE_ARGS. Shared by the JS SDK and browser
// suites.

import { spawn } from "node:child_process";
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function carillonBinary() {
  const bin = process.env.CARILLON_BIN;
  if (!bin) {
    throw new Error(
      "CARILLON_BIN is not set: set it to the path of a built carillon binary " +
        "(e.g. go build -o /tmp/carillon-bin/carillon ./cmd/carillon)",
    );
  }
  try {
    accessSync(bin, constants.X_OK);
    if (!statSync(bin).isFile()) throw new Error("not a file");
  } catch (e) {
    throw new Error(`CARILLON_BIN=${bin} is not an executable file (${e.message})`);
  }
  return bin;
}

// startCarillon resolves to { url, log(), stop() } once the server listens.
export async function startCarillon(args = [], name = "carillon") {
  const bin = carillonBinary();
  const workDir = mkdtempSync(join(tmpdir(), `${name}-`));
  const logPath = join(workDir, "server.log");
  const log = () => {
    try {
      return readFileSync(logPath, "utf8");
    } catch {
      return "";
    }
  };
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CARILLON_")));
  const logFd = openSync(logPath, "w");
  const proc = spawn(
    bin,
    ["serve", "--listen", "127.0.0.1:0", "--ops-listen", "", "--data-dir", join(workDir, "data"), "--log-format", "json",
      ...args, ...(process.env.CARILLON_SERVE_ARGS ?? "").split(/\s+/).filter(Boolean)],
    { stdio: ["ignore", logFd, logFd], env },
  );
  closeSync(logFd);
  let exited = null;
  proc.on("exit", (code, signal) => {
    exited = { code, signal };
  });
  // Never leave the server behind, even if the runner is torn down abruptly.
  const killOnExit = () => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    rmSync(workDir, { recursive: true, force: true });
  };
  process.on("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(timer);
    }
    if (process.env.CARILLON_TEST_SHOW_LOG) process.stderr.write(log());
    rmSync(workDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) {
      const out = log();
      await stop();
      throw new Error(`carillon exited (${JSON.stringify(exited)}) before listening:\n${out}`);
    }
    for (const line of log().split("\n")) {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      if (rec.msg === "carillon listening" && rec.api) {
        return { url: rec.api, log, stop };
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const out = log();
  await stop();
  throw new Error(`carillon did not report listening within 20s:\n${out}`);
}
