import { describe, expect, it } from "vitest";

import { artifactKind, formatBytes } from "./artifacts";

describe("artifacts", () => {
  it("shows images and videos inline and offers everything else as a download", () => {
    expect(artifactKind("image/png")).toBe("image");
    expect(artifactKind("IMAGE/JPEG; q=1")).toBe("image");
    expect(artifactKind("video/mp4")).toBe("video");
    expect(artifactKind("application/pdf")).toBe("download");
    expect(artifactKind("text/html")).toBe("download");
  });

  it("never inlines SVG, which can carry script", () => {
    expect(artifactKind("image/svg+xml")).toBe("download");
  });

  it("formats sizes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.0 GB");
  });
});
