// A deep link opened signed out comes back after sign-in: the sign-in screen remembers the
// place it was asked for (path, query and hash, in this tab's sessionStorage), and the gate
// returns there once signed in if the sign-in moved the page elsewhere (a redirect back to
// the site's root, say). The screens only ever keep same-origin paths.
import { useEffect } from "react";
import { useLocation, useNavigate } from "react-router-dom";

const KEY = "crm-return-to";

function here(location: { pathname: string; search: string; hash: string }): string {
  return `${location.pathname}${location.search}${location.hash}`;
}

/** Rendered by a sign-in screen: remembers where the user was going. */
export function useRememberPlace(): void {
  const location = useLocation();
  useEffect(() => {
    const place = here(location);
    // a path of this app only (never "//host" or a scheme)
    if (place.startsWith("/") && !place.startsWith("//")) sessionStorage.setItem(KEY, place);
  }, [location]);
}

/** In a gate, once signed in: back to the remembered place when the page is elsewhere. */
export function useReturnAfterSignIn(signedIn: boolean): void {
  const location = useLocation();
  const navigate = useNavigate();
  useEffect(() => {
    if (!signedIn) return;
    const place = sessionStorage.getItem(KEY);
    if (place === null) return;
    sessionStorage.removeItem(KEY);
    if (place !== here(location) && place.startsWith("/") && !place.startsWith("//")) {
      void navigate(place, { replace: true });
    }
  }, [signedIn, location, navigate]);
}
