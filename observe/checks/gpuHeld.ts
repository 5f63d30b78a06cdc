/**
 * Whether each running copy holds no more GPU memory than its service declares (`gpus.memoryGiB`, per GPU it
 * uses): the release strategy's fit rule trusts the declaration, so a copy that takes more (vLLM-style engines
 * take about 90 % of a GPU unless told otherwise) can make a blue-green release start a copy where it does not fit.
 */
import { copyPids, serviceGpu } from "../serviceGpu";
import { serviceContainers } from "../status";
import { ok, warn, type HostCheck } from "./types";

export const gpuMemoryHeldCheck: HostCheck = async (ctx) => {
  const declared = ctx.services.filter((s) => s.gpus?.memoryGiB !== undefined);
  if (declared.length === 0) return ok("no service of this stack here declares gpus.memoryGiB");
  if (!ctx.gpus.available) {
    return warn(`GPU memory held not checked: ${ctx.gpus.reason}`, "run doctor again once nvidia-smi can run");
  }
  const over: string[] = [];
  const held: string[] = [];
  for (const service of declared) {
    const copies = serviceContainers(ctx.snapshot, ctx.model.stack, service).filter((c) => c.running);
    const figures = serviceGpu(service, ctx.gpus, await copyPids(ctx.cli, copies));
    over.push(...figures.overDeclared.map((line) => `${service.name}: ${line}`));
    const amount = figures.heldMiB === null ? `n/a (${figures.note})` : `${figures.heldMiB} MiB`;
    const running = copies.length === 1 ? "1 running copy" : `${copies.length} running copies`;
    held.push(`${service.name} ${amount} in ${running}, ${figures.declaredMiB} MiB declared per GPU`);
  }
  if (over.length > 0) {
    return warn(
      over.join("; "),
      "declare what the copy really takes (gpus.memoryGiB), or cap the engine (vLLM: --gpu-memory-utilization); " +
        "the release strategy's fit rule counts the declaration",
    );
  }
  return ok(held.join("; "));
};
