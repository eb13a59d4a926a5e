-- Demo data for `supabase db reset`: two CRM users, their people and identifiers.
-- Fixed, readable UUIDs so the README, the demo and the tests can name them.

insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('00000000-0000-4000-a000-00000000a11c', 'authenticated', 'authenticated', 'alice@crm.example',
   '{"provider": "email"}', '{"full_name": "Alice Admin"}', now(), now()),
  ('00000000-0000-4000-a000-000000000b0b', 'authenticated', 'authenticated', 'bob@crm.example',
   '{"provider": "email"}', '{"full_name": "Bob Sales"}', now(), now())
on conflict (id) do nothing;

insert into public.people (id, user_id, full_name, email, phone) values
  ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-00000000a11c', 'María García', 'maria@example.es', '+34 612 34 56 78'),
  ('00000000-0000-4000-b000-000000000002', '00000000-0000-4000-a000-00000000a11c', 'João Silva', 'joao@example.com.br', '+55 11 91234-5678'),
  ('00000000-0000-4000-b000-000000000003', '00000000-0000-4000-a000-00000000a11c', 'Li Wei', null, null),
  ('00000000-0000-4000-b000-000000000004', '00000000-0000-4000-a000-00000000a11c', 'Hannah Becker', 'hannah@example.de', '+49 151 23456789'),
  ('00000000-0000-4000-b000-000000000005', '00000000-0000-4000-a000-000000000b0b', 'Tom Jones', 'tom@example.co.uk', '+44 7700 900123')
on conflict (id) do nothing;

insert into public.person_identifiers (user_id, person_id, kind, platform, value) values
  ('00000000-0000-4000-a000-00000000a11c', '00000000-0000-4000-b000-000000000001', 'phone', null, '+34612345678'),
  ('00000000-0000-4000-a000-00000000a11c', '00000000-0000-4000-b000-000000000001', 'email', null, 'maria@example.es'),
  ('00000000-0000-4000-a000-00000000a11c', '00000000-0000-4000-b000-000000000002', 'phone', null, '+5511912345678'),
  ('00000000-0000-4000-a000-00000000a11c', '00000000-0000-4000-b000-000000000002', 'username', 'telegram', '@JoaoSilva'),
  ('00000000-0000-4000-a000-00000000a11c', '00000000-0000-4000-b000-000000000003', 'username', 'wechat', 'wxid_liwei88'),
  ('00000000-0000-4000-a000-00000000a11c', '00000000-0000-4000-b000-000000000004', 'phone', 'signal', '+4915123456789'),
  ('00000000-0000-4000-a000-000000000b0b', '00000000-0000-4000-b000-000000000005', 'phone', null, '+447700900123')
on conflict do nothing;
