/** Where a service's image comes from: a registry pull or a BuildKit build, and whether it is pinned. */
import * as path from "node:path";
import type { z } from "zod";
import type { ModelContext } from "./context";
import { sortedRecord } from "./sorted";
import { BuildSchema, ImageSchema } from "../stackConfig";
import { COMMIT_RE, FLOATING_TAGS, GIT_URL_RE } from "../formats";
import type { ImageSpec } from "./types";

type ImageConfig = z.output<typeof ImageSchema>;
type BuildConfig = z.output<typeof BuildSchema>;

const PINNED = "this stack requires pinned images (requirePinnedImages)";

/** Where the stack requires pinned images: a digest or a fixed tag, never a tracked or floating tag. */
function checkRegistryPin(ctx: ModelContext, at: readonly PropertyKey[], image: ImageConfig): void {
  if (image.track) {
    ctx.add([...at, "track"], `${PINNED}: it cannot follow a moving tag; pin a digest (npm run release) instead`);
  } else if (!image.digest && image.tag === undefined) {
    ctx.add(
      [...at, "tag"],
      `${PINNED}: give image.digest (sha256:...) or a fixed tag such as sha-<commit>; no tag means latest`,
    );
  } else if (!image.digest && (FLOATING_TAGS as readonly string[]).includes(image.tag!)) {
    ctx.add(
      [...at, "tag"],
      `"${image.tag}" is a floating tag and ${PINNED}: give image.digest (sha256:...) or a fixed tag such as ` +
        "sha-<commit>",
    );
  }
}

/** Where the stack requires pinned images: a git build at a full commit, never a local folder. */
function checkBuildPin(ctx: ModelContext, at: readonly PropertyKey[], build: BuildConfig): void {
  if (!GIT_URL_RE.test(build.context)) {
    ctx.add(
      [...at, "context"],
      `${PINNED}: build from a git URL with ref set to a full commit, not from a local folder`,
    );
  } else if (!(build.ref && COMMIT_RE.test(build.ref))) {
    ctx.add(
      [...at, "ref"],
      `${PINNED}: a git build needs ref set to a full 40-hex commit${build.ref ? ` (got "${build.ref}")` : ""}`,
    );
  }
}

/**
 * The pin rules for the `image` or `build` at `at` (a service's, the switch's), read from the raw value so they are reported even when
 * another key of the service is invalid (a part that does not parse is reported by the schema instead).
 */
export function checkImagePins(ctx: ModelContext, at: readonly PropertyKey[], raw: Record<string, unknown>): void {
  if (!ctx.requirePinned || (raw.image !== undefined && raw.build !== undefined)) return;
  const image = raw.image === undefined ? undefined : ImageSchema.safeParse(raw.image);
  if (image?.success) checkRegistryPin(ctx, [...at, "image"], image.data);
  const build = raw.build === undefined ? undefined : BuildSchema.safeParse(raw.build);
  if (build?.success) checkBuildPin(ctx, [...at, "build"], build.data);
}

/** Docker tags allow [A-Za-z0-9_.-]; a git ref such as feature/x becomes feature-x. */
function tagSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 128);
}

function registryImage(image: ImageConfig): ImageSpec {
  const { repository, tag, digest, track } = image;
  return {
    kind: "registry",
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    track,
    ref: digest ? `${repository}@${digest}` : `${repository}:${tag ?? "latest"}`,
  };
}

function buildImage(ctx: ModelContext, name: string, build: BuildConfig): ImageSpec {
  const isGit = GIT_URL_RE.test(build.context);
  const location = isGit
    ? build.ref
      ? `${build.context}#${build.ref}`
      : build.context
    : path.normalize(build.context);
  return {
    kind: "build",
    contextKind: isGit ? "git" : "local",
    context: build.context,
    ...(build.ref !== undefined ? { gitRef: build.ref } : {}),
    location,
    dockerfile: build.dockerfile,
    args: sortedRecord(build.args),
    ...(build.target !== undefined ? { target: build.target } : {}),
    noCache: build.noCache,
    localTag: `${ctx.project}/${name}:${tagSafe(build.ref ?? `${ctx.stack}-local`)}`,
    ...(build.tag !== undefined ? { extraTag: build.tag } : {}),
  };
}

/** The image spec of a service whose config parsed (so exactly one of image and build is set). */
export function buildImageSpec(
  ctx: ModelContext,
  name: string,
  service: { image?: ImageConfig; build?: BuildConfig },
): ImageSpec {
  return service.image ? registryImage(service.image) : buildImage(ctx, name, service.build!);
}
