import * as pulumi from "@pulumi/pulumi";
import { StackConfigError } from "./stackConfig";
import { deploy, type ServiceOutputs } from "./program";

/**
 * The program, as the Pulumi CLI runs it. Invalid stack config is reported as a `pulumi.RunError`, which the
 * CLI prints as its message alone (the stack, each key path and what is allowed): no stack trace, no object dump.
 * (Not exported: every export of this module is a stack output.)
 */
function runProgram(): Record<string, ServiceOutputs> {
  try {
    return deploy();
  } catch (error) {
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** Per service: endpoint URL, the image actually deployed, the container name and its host. */
export const services = runProgram();
