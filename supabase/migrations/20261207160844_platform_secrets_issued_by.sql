-- 0.2.0 -> next: who issues each webhook secret is data on platform_secrets (written by
-- hand; create/rotate, which read it, are re-declared in the named_steps migration).
alter table messaging_private.platform_secrets
  add column issued_by text check (issued_by in ('platform', 'store')),
  add column generated_length integer check (generated_length between 1 and 64),
  add column where_issued text;
update messaging_private.platform_secrets
   set issued_by = 'platform',
       where_issued = 'the App Secret of your Meta app, under App settings > Basic'
 where platform = 'whatsapp' and name = 'app_secret';
update messaging_private.platform_secrets set issued_by = 'store', generated_length = 48
 where platform = 'whatsapp' and name = 'verify_token';
update messaging_private.platform_secrets set issued_by = 'store', generated_length = 64
 where platform = 'telegram' and name = 'secret_token';
update messaging_private.platform_secrets set issued_by = 'store', generated_length = 64
 where platform = 'signal' and name = 'token';
update messaging_private.platform_secrets set issued_by = 'store', generated_length = 32
 where platform = 'wechat' and name = 'token';
alter table messaging_private.platform_secrets
  alter column issued_by set not null,
  add constraint platform_secrets_generated_length
    check ((issued_by = 'store') = (generated_length is not null) and generated_length <= max_length),
  add constraint platform_secrets_where_issued check ((issued_by = 'platform') = (where_issued is not null));
create unique index platform_secrets_one_issued on messaging_private.platform_secrets (platform)
  where issued_by = 'platform';
comment on column messaging_private.platform_secrets.issued_by is
  'platform: the platform issues it and the user pastes it in (create_messaging_connection''s app_secret, at most one per platform); store: create and rotate generate it.';
comment on column messaging_private.platform_secrets.generated_length is
  'store: how many hex digits create and rotate generate (new_webhook_token, at most 64, within max_length and pattern).';
comment on column messaging_private.platform_secrets.where_issued is
  'platform: where the user finds it on the platform (the refusal that asks for it names the place).';
