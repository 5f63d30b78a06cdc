import * as pulumi from "@pulumi/pulumi";
import { StackConfigError } from "./stackConfig";
import { deploy, type StackOutputs } from "./program";

/**
 * The program, as the Pulumi CLI runs it: the module's one export, whose result is the stack outputs
 * (`services`: per service, endpoint URL, the image actually deployed, the container name and its host;
 * `switches`, in a stack with a switch: per host, the switch container, its ports and the last push's exit
 * code). It is async because a stack with a switch first reads its own last outputs (program.ts). Invalid
 * stack config is reported as a `pulumi.RunError`, which the CLI prints as its message alone (the stack, each
 * key path and what is allowed): no stack trace, no object dump.
 */
async function runProgram(): Promise<StackOutputs> {
  try {
    return await deploy();
  } catch (error) {
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

export = runProgram;
