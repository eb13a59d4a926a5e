import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { Empty, ErrorMessage, Loading } from "../components/ui/States";
import { usePeoplePages } from "../hooks/use-people";
import { personHref } from "../lib/routes";

// Every person of the CRM, searched and paged on the server (thousands of people are
// never one request), with the number of matches.
export function PeoplePage() {
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setQuery(search), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const people = usePeoplePages(query);
  const rows = people.data?.pages.flatMap((p) => p.rows) ?? [];
  const total = people.data?.pages[0]?.total ?? 0;

  return (
    <section className="page" aria-labelledby="people-title">
      <h1 id="people-title">People</h1>
      <label className="search-box page-search">
        <span className="visually-hidden">Search people</span>
        <input
          type="search"
          placeholder="Search by name, email or phone…"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </label>
      {people.isPending ? (
        <Loading label="Loading people" />
      ) : people.isError && !people.data ? (
        <ErrorMessage error={people.error} retry={() => void people.refetch()} />
      ) : rows.length === 0 ? (
        <Empty>{query.trim() ? `No person matches “${query.trim()}”.` : "No people yet."}</Empty>
      ) : (
        <>
          <p className="muted" data-testid="people-count">
            Showing {rows.length} of {total} {total === 1 ? "person" : "people"}
            {query.trim() ? ` matching “${query.trim()}”` : ""}
          </p>
          <div className="table-scroll">
            <table className="table people">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Phone</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <Link to={personHref(p.id)}>{p.full_name}</Link>
                    </td>
                    <td>{p.email ?? ""}</td>
                    <td>{p.phone ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="list-end">
            {people.hasNextPage ? (
              <button type="button" onClick={() => void people.fetchNextPage()} disabled={people.isFetchingNextPage}>
                {people.isFetchingNextPage ? "Loading more…" : "Load more people"}
              </button>
            ) : (
              <span className="muted">All {total} shown</span>
            )}
          </div>
        </>
      )}
    </section>
  );
}
