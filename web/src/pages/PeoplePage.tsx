import { Link } from "react-router-dom";
import { Empty, ErrorMessage, Loading } from "../components/ui/States";
import { usePeople } from "../hooks/use-people";
import { personHref } from "../lib/routes";

export function PeoplePage() {
  const people = usePeople();
  return (
    <section className="page" aria-labelledby="people-title">
      <h1 id="people-title">People</h1>
      {people.isPending ? (
        <Loading label="Loading people" />
      ) : people.isError ? (
        <ErrorMessage error={people.error} retry={() => void people.refetch()} />
      ) : people.data.length === 0 ? (
        <Empty>No people yet.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Phone</th>
            </tr>
          </thead>
          <tbody>
            {people.data.map((p) => (
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
      )}
    </section>
  );
}
