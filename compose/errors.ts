/** The one error of compose import: what is wrong, naming the file or the compose key path. */
export class ComposeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComposeError";
  }
}
