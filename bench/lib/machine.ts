/** The machine the numbers come from, for the report's header. */
import { cpus, totalmem, release, platform } from "node:os";
import { readFileSync } from "node:fs";

export function machine(): { cpu: string; cores: number; memory: string; os: string; node: string } {
  const list = cpus();
  let os = `${platform()} ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
    if (pretty) os = `${pretty} (kernel ${release()})`;
  } catch {
    // not Linux: platform and release are enough
  }
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os,
    node: process.version,
  };
}
