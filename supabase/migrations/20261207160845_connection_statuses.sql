-- 0.2.0 -> next: the connection statuses as contract rows, the foreign key of
-- messaging_connections.status (written by hand; the functions that read them are
-- re-declared in the named_steps migration).
create table messaging_private.connection_statuses (
  status text primary key check (status ~ '^[a-z]+$'),
  position integer not null unique check (position > 0),
  settable boolean not null,
  stores boolean not null,
  description text not null
);
comment on table messaging_private.connection_statuses is
  'The values of messaging_connections.status (its foreign key): which a user may set (set_messaging_connection_status) and which store deliveries.';

insert into messaging_private.connection_statuses (status, position, settable, stores, description) values
  ('active', 1, true, true, 'Deliveries are checked and stored.'),
  ('paused', 2, true, false,
   'The user paused it: deliveries are answered (so the platform stops retrying) and nothing is stored.'),
  ('error', 3, false, true,
   'The last delivery was refused whole by the store (last_error says why); the next one accepted makes it active again.'),
  ('disconnected', 4, false, false, 'The account is gone from the platform: deliveries are answered and nothing is stored.');

alter table public.messaging_connections
  drop constraint messaging_connections_status_check,
  add constraint messaging_connections_status_fkey
    foreign key (status) references messaging_private.connection_statuses (status);
create index messaging_connections_status_idx on public.messaging_connections (status);
