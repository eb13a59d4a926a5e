// Each page's document title (the tab, the history list, a bookmark): "<what> · CRM".
import { useEffect } from "react";
import { useLocation } from "react-router-dom";

export const APP_TITLE = "CRM";

export function documentTitle(what: string | null | undefined): string {
  const text = what?.trim();
  return text ? `${text} · ${APP_TITLE}` : APP_TITLE;
}

/**
 * Sets the document title while the calling page shows (null: leave the layout's default).
 * Passive effects run after the layout's layout effect, so the page's title wins.
 */
export function useDocumentTitle(what: string | null | undefined): void {
  const { pathname, search } = useLocation();
  useEffect(() => {
    if (what === null || what === undefined) return;
    document.title = documentTitle(what);
  }, [what, pathname, search]);
}
