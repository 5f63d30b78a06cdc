/**
 * The stack-file editor the CLIs share (release, import-compose): single values changed and nothing else
 * (yamlEdit), and edited stack files checked whole against the model before they are written (checked).
 */
export * from "./checked";
export * from "./yamlEdit";
