// The ids of a chat participant that are not (only) a phone, as the store's
// identifier_kinds name them (docs/contract.md, identity aliases). An adapter gives a
// message `participant_ids` only with values of each kind's form: the store refuses a
// message whose ids are malformed, and one odd id must not cost the message.

import type { ParticipantIds } from "./types.ts";

/** Each kind's form, the same as the store's normalize_identifier accepts. */
const FORMS: Record<string, RegExp> = {
  phone: /^\+[1-9][0-9]{5,14}$/,
  username: /^@?[A-Za-z0-9._-]{1,64}$/,
  whatsapp_user_id: /^[A-Za-z]{2}\.[A-Za-z0-9]{1,128}$/,
  whatsapp_parent_user_id: /^[A-Za-z]{2}\.ENT\.[A-Za-z0-9]{1,128}$/i,
  whatsapp_lid: /^[0-9]{1,24}(@lid)?$/,
  telegram_user_id: /^[1-9][0-9]{0,19}$/,
  signal_aci: /^(ACI:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  signal_pni: /^(PNI:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  wechat_openid: /^[A-Za-z0-9_-]{6,64}$/,
};

/** Whether a value has its kind's form (an unknown kind never has). */
export function validId(kind: string, value: unknown): value is string {
  const form = FORMS[kind];
  return form !== undefined && typeof value === "string" && form.test(value.trim());
}

/**
 * The participant_ids of a message from [kind, value] pairs: values not of their kind's
 * form left out, repeats once, several values of one kind as an array (a number change
 * gives the old and the new). Undefined when none is left.
 */
export function participantIds(pairs: [string, unknown][]): ParticipantIds | undefined {
  const out: Record<string, string[]> = {};
  for (const [kind, value] of pairs) {
    if (!validId(kind, value)) continue;
    const v = value.trim();
    const list = (out[kind] ??= []);
    if (!list.includes(v)) list.push(v);
  }
  const ids: ParticipantIds = {};
  for (const [kind, list] of Object.entries(out)) ids[kind] = list.length === 1 ? list[0] : list;
  return Object.keys(ids).length ? ids : undefined;
}
