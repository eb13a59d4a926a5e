// A "skip to" link: the first thing Tab reaches, visible only while focused; it moves
// the keyboard focus to its target (which takes focus with tabIndex -1 or 0).
export function SkipLink({ target, children }: { target: string; children: React.ReactNode }) {
  return (
    <a
      href={`#${target}`}
      className="skip-link"
      onClick={(e) => {
        const el = document.getElementById(target);
        if (!el) return;
        e.preventDefault();
        el.focus();
      }}
    >
      {children}
    </a>
  );
}
