import { ReportedError } from "../errors";

/** The one error of compose import: what is wrong, naming the file or the compose key path. */
export class ComposeError extends ReportedError {
  constructor(message: string) {
    super("invalid", message);
    this.name = "ComposeError";
  }
}
