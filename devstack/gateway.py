"""nginx: the API gateway (as Kong is in Supabase) and the server of the CRM screens.

The gateway listens on API_PORT: /rest/v1/ to PostgREST (an apikey required), and
/functions/v1/ to Deno.

The CRM screens (web/, issue 13): web/dist is built by `make stack` (Vite, with the local
sign-in compiled in) and served at WEB_URL. The same server forwards /rest/v1/ and
/functions/v1/ to the API gateway, so the app talks to Supabase from its own origin (no
CORS preflight here). /local-dev/session.json exists only on this stack: short-lived access
tokens for the seed users, minted here with the JWT secret, which never leaves this
process. A production build has no code that reads it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .functions import nginx_location, nginx_upstream
from .layout import API_PORT, POSTGREST_PORT, REPO_ROOT, WEB_PORT, Paths, api_url, db_url, web_url
from .process import StackError, http_status, pid_alive, port_open, run, stop_pid, wait_for
from .tokens import api_key, user_token

WEB_DIST = REPO_ROOT / "web" / "dist"
#: How long the local sign-in tokens live; `make stack` mints fresh ones.
LOCAL_SESSION_TTL = 12 * 3600
#: The seed users (supabase/seed.sql) the local sign-in offers.
LOCAL_USER_DOMAIN = "@crm.example"


def nginx_conf(paths: Paths) -> Path:
    tmp = paths.run / "nginx-tmp"
    tmp.mkdir(exist_ok=True)
    conf = paths.run / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {paths.pid("nginx")};
error_log {paths.log("nginx")} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  # The client caps a batch at 8 MiB of JSON; leave room above it.
  client_max_body_size 32m;
  client_body_buffer_size 1m;
  upstream postgrest {{ server 127.0.0.1:{POSTGREST_PORT}; keepalive 32; }}
{nginx_upstream()}
  # Kong forwards the apikey as the bearer token when no Authorization header is sent.
  map $http_authorization $crm_auth {{
    ""      "Bearer $http_apikey";
    default $http_authorization;
  }}
  # Fairness between users is the database's (PostgREST's db-pre-request,
  # supabase/schemas/27_fairness.sql), as behind hosted Supabase's gateway: none here.
  server {{
    listen 127.0.0.1:{API_PORT};
    location = /health {{ default_type text/plain; return 200 "ok\\n"; }}
    location /rest/v1/ {{
      if ($http_apikey = "") {{
        add_header Content-Type application/json always;
        return 401 '{{"message":"No API key found in request"}}';
      }}
      proxy_pass http://postgrest/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header Authorization $crm_auth;
      proxy_read_timeout 120s;
    }}
{nginx_location()}
  }}
{web_server_block(paths)}
}}
"""
    )
    return conf


def served_web(paths: Paths) -> Path:
    """The copy of web/dist nginx serves: under the state directory, readable by its worker.

    Run as root, nginx's worker runs as `nobody`, which cannot enter a checkout in a 0700
    folder (a Debian home); the copy (world-readable, refreshed on every `stack up`) needs
    nothing of the checkout's folders."""
    return paths.run / "web-dist"


def sync_web(paths: Paths) -> Path:
    """Replace the served copy with web/dist as it is now (built by `make stack`)."""
    served = served_web(paths)
    if not WEB_DIST.is_dir():
        served.mkdir(parents=True, exist_ok=True)  # nothing built yet: WEB_URL answers 404
        return served
    fresh = served.with_name("web-dist.new")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(WEB_DIST, fresh)
    for d in [fresh, *[p for p in fresh.rglob("*") if p.is_dir()]]:
        d.chmod(0o755)
    for f in (p for p in fresh.rglob("*") if p.is_file()):
        f.chmod(0o644)
    old = served.with_name("web-dist.old")
    shutil.rmtree(old, ignore_errors=True)
    if served.exists():
        served.rename(old)
    fresh.rename(served)
    shutil.rmtree(old, ignore_errors=True)
    return served


def nginx_pid(paths: Paths) -> int | None:
    return pid_alive(paths.pid("nginx"), "nginx")


def start_nginx(paths: Paths) -> bool:
    """Start the gateway; a running one is reloaded when its routes changed (a newer checkout)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    log = paths.log("nginx")
    sync_web(paths)
    if nginx_pid(paths):
        conf = paths.run / "nginx.conf"
        before = conf.read_text() if conf.exists() else ""
        if nginx_conf(paths).read_text() != before:
            run("nginx", [nginx, "-q", "-p", str(paths.run), "-c", str(conf), "-s", "reload"], log)
            if not wait_for(lambda: port_open(WEB_PORT), 10):
                raise StackError("nginx", f"not serving the CRM screens on {web_url()}", log)
        return False
    if port_open(API_PORT):
        raise StackError("nginx", f"port {API_PORT} is taken by another program")
    conf = nginx_conf(paths)
    run("nginx", [nginx, "-q", "-p", str(paths.run), "-c", str(conf)], log)
    if not wait_for(lambda: http_status(f"{api_url()}/health") == 200, 15):
        raise StackError("nginx", f"not answering on 127.0.0.1:{API_PORT}", log)
    return True


def stop_nginx(paths: Paths) -> bool:
    return stop_pid(paths.pid("nginx"), "nginx")


def local_session_path(paths: Paths) -> Path:
    return paths.run / "web-local" / "session.json"


def write_local_session(paths: Paths, secret: str) -> Path:
    """The seed users with fresh access tokens, for the local sign-in of the CRM screens."""

    out = run(
        "web",
        [
            "psql",
            db_url(),
            "-X",
            "-At",
            "-F",
            "\t",
            "-c",
            "select id, email from auth.users"
            f" where email like '%{LOCAL_USER_DOMAIN}' order by email",
        ],
    )
    expires_at = int(time.time()) + LOCAL_SESSION_TTL
    users = []
    for line in out.splitlines():
        user_id, _, email = line.partition("\t")
        token = user_token(secret, user_id, email=email, ttl_seconds=LOCAL_SESSION_TTL)
        users.append(
            {"id": user_id, "email": email, "access_token": token, "expires_at": expires_at}
        )
    api = api_url()
    body = {"api_url": api, "anon_key": api_key(secret, "anon"), "users": users}
    path = local_session_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n")
    tmp.chmod(0o644)
    tmp.replace(path)
    return path


def web_server_block(paths: Paths) -> str:
    """The nginx server of the CRM screens: web/dist with SPA fallback, API on the same origin."""
    session = local_session_path(paths)
    proxy = f"""
      proxy_pass http://127.0.0.1:{API_PORT};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout 120s;"""
    return f"""
  server {{
    listen 127.0.0.1:{WEB_PORT};
    root {served_web(paths)};
    types {{
      text/html html; text/css css; application/javascript js mjs; application/json json;
      image/png png; image/svg+xml svg; image/x-icon ico; font/woff2 woff2;
    }}
    default_type application/octet-stream;
    location = /local-dev/session.json {{
      alias {session};
      default_type application/json;
      add_header Cache-Control "no-store" always;
    }}
    location /rest/v1/ {{{proxy}
    }}
    location /functions/v1/ {{{proxy}
    }}
    location /assets/ {{
      add_header Cache-Control "public, max-age=31536000, immutable";
      try_files $uri =404;
    }}
    location / {{
      add_header Cache-Control "no-cache";
      try_files $uri /index.html;
    }}
  }}"""


def web_ready() -> bool:
    return http_status(web_url() + "/") == 200
