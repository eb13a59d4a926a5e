"""devstack: the checkout's local Supabase stack, a developer tool (not part of the package).

PostgreSQL 15, PostgREST, nginx and Deno run natively, no Docker; `python -m devstack
up|down|status|env|db-flag|demo` (the Makefile's `make stack`, `make demo`, ...). It mints
the local API keys and user tokens with the demo JWT secret every `supabase start` uses,
and reads paths that exist only in a checkout (node_modules/, supabase/, web/dist).

Modules: layout (paths, ports), process (subprocesses, StackError), tokens, postgres,
postgrest, functions (Deno), gateway (nginx: API and CRM screens), stack (up/down/status,
.env), demo.
"""
