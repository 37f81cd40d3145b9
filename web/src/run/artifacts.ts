import type { ArtifactFieldsFragment } from "../gql/graphql";

/** An artifact as the step panel shows it. */
export type ArtifactView = ArtifactFieldsFragment;

export type ArtifactKind = "image" | "video" | "download";

/** Images and videos play inline; everything else (and SVG, which can carry script when
 * opened as a document) is a download link. */
export function artifactKind(mimeType: string): ArtifactKind {
  const type = mimeType.split(";")[0]!.trim().toLowerCase();
  if (type.startsWith("image/") && type !== "image/svg+xml") return "image";
  if (type.startsWith("video/")) return "video";
  return "download";
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
