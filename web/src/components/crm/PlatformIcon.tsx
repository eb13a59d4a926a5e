import { PLATFORM_LABELS, isPlatform } from "../../types/messaging";

// Latin letters only: they render with any font the viewer has.
const GLYPHS: Record<string, string> = { whatsapp: "WA", signal: "SI", telegram: "TG", wechat: "WC" };

/** A small round badge per platform; its name is its accessible label. */
export function PlatformIcon({ platform }: { platform: string }) {
  const label = isPlatform(platform) ? PLATFORM_LABELS[platform] : platform;
  return (
    <span className={`platform-icon platform-${platform}`} role="img" aria-label={label} title={label}>
      {GLYPHS[platform] ?? "?"}
    </span>
  );
}

export function platformLabel(platform: string): string {
  return isPlatform(platform) ? PLATFORM_LABELS[platform] : platform;
}
