import { artifactKind, formatBytes, type ArtifactView } from "./artifacts";

/** A step's files: images and videos shown, others linked for download (their URLs are
 * signed and short-lived, so they work in <img src> without our Authorization header). */
export function ArtifactList({ artifacts }: { artifacts: readonly ArtifactView[] }) {
  if (artifacts.length === 0) return null;
  return (
    <section className="artifacts" aria-label="Artifacts">
      <h3>Artifacts</h3>
      <ul>
        {artifacts.map((artifact) => {
          const kind = artifactKind(artifact.mimeType);
          const caption = `${artifact.name} · ${artifact.role} · ${artifact.mimeType} · ${formatBytes(artifact.sizeBytes)}`;
          return (
            <li key={artifact.id} data-artifact-kind={kind}>
              {kind === "image" && <img src={artifact.downloadUrl} alt={artifact.name} loading="lazy" />}
              {kind === "video" && <video src={artifact.downloadUrl} controls preload="metadata" />}
              <a href={artifact.downloadUrl} download={artifact.name}>
                {caption}
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
