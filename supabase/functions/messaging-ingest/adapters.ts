// One adapter per platform, keyed by the database's messaging_platform enum (the generated
// ../_shared/database.ts): a platform added to the enum makes `deno check` fail here until
// its adapter exists, and the Adapter type makes every part of it required (verify, map,
// handshake or null, answer, replay guard or null). The handler takes this Record and names
// no platform.

import type { Adapter } from "./adapter.ts";
import { adapter as signal } from "./signal.ts";
import { adapter as telegram } from "./telegram.ts";
import type { Platform } from "./types.ts";
import { adapter as wechat } from "./wechat.ts";
import { adapter as whatsapp } from "./whatsapp.ts";

export const ADAPTERS: Record<Platform, Adapter> = { whatsapp, telegram, signal, wechat };
