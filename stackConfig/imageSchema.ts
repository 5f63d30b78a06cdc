/** The schemas of a service's image source: `image` (a registry pull) or `build` (a BuildKit build). */
import { z } from "zod";
import {
  DIGEST_RE,
  GIT_REF_RE,
  GIT_URL_RE,
  IMAGE_NAME_RE,
  REPOSITORY_RE,
  TAG_RE,
  redactUrl,
  urlHasCredentials,
} from "../formats";
import { issue, stringMap } from "./fields";

export const ImageSchema = z
  .strictObject({
    repository: z.string().regex(REPOSITORY_RE, {
      error:
        "must be a repository such as ghcr.io/owner/name (lowercase; put a tag in image.tag, a digest in image.digest)",
    }),
    tag: z.string().regex(TAG_RE, { error: "must be a Docker tag: letters, digits, _ . - (at most 128)" }).optional(),
    digest: z.string().regex(DIGEST_RE, { error: "must be sha256: followed by 64 lowercase hex digits" }).optional(),
    /** Follow the tag: resolve its current digest on every preview and up, and pull when it moves. */
    track: z.boolean().default(false),
  })
  .superRefine((image, ctx) => {
    if (image.track && (image.tag === undefined || image.digest !== undefined)) {
      issue(ctx, ["track"], "follows a tag: give image.tag and no image.digest");
    }
  });

export const BuildSchema = z
  .strictObject({
    /** A git URL (https://github.com/owner/repo.git) or a local folder (relative to the project). */
    context: z.string().min(1),
    /** For a git context: branch, tag or commit; a full 40-hex commit where the stack requires pins. */
    ref: z.string().regex(GIT_REF_RE, { error: "must be a git branch, tag or commit" }).optional(),
    dockerfile: z.string().min(1).default("Dockerfile"),
    args: stringMap.default({}),
    target: z.string().min(1).optional(),
    /** Build without the layer cache (docker build --no-cache). */
    noCache: z.boolean().default(false),
    /** One more name for the built image, such as compose's `image:` beside `build:` (sd-auto:78). */
    tag: z
      .string()
      .regex(IMAGE_NAME_RE, { error: "must be an image name such as sd-auto:78 or ghcr.io/owner/name:tag" })
      .optional(),
  })
  .superRefine((build, ctx) => {
    if (urlHasCredentials(build.context)) {
      issue(
        ctx,
        ["context"],
        `must not carry credentials (got "${redactUrl(build.context)}"): the URL would be kept in the state, labels ` +
          "and logs. For a private repository use an ssh:// URL with a deploy key, or a git credential helper on " +
          "the build host (git config credential.helper)",
      );
      return;
    }
    if (GIT_URL_RE.test(build.context)) {
      if (build.dockerfile !== "Dockerfile") {
        issue(
          ctx,
          ["dockerfile"],
          "a git build uses the Dockerfile at the root of its context; to build a subfolder, end the context URL " +
            "with #<ref>:<folder>, or build from a local folder",
        );
      }
      return;
    }
    if (build.context.includes("://") || build.context.startsWith("git@")) {
      issue(
        ctx,
        ["context"],
        "must be a git URL (https://host/owner/repo.git, ssh://..., git@host:owner/repo) " +
          `or a local folder (got "${redactUrl(build.context)}")`,
      );
    }
    if (build.ref !== undefined) issue(ctx, ["ref"], "applies only to a git context; a local folder has no ref");
  });
