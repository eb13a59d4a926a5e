import { hmacSha256Hex, safeEqualString, sha1Hex, timingSafeEqual, toBytes } from "./crypto.ts";
import { assert, assertEquals } from "./test_helpers.ts";

Deno.test("HMAC-SHA256 and SHA-1 match the RFC 4231 / FIPS 180 test vectors", async () => {
  // RFC 4231 test case 2
  assertEquals(
    await hmacSha256Hex("Jefe", toBytes("what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assertEquals(await sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
});

Deno.test("timingSafeEqual and safeEqualString compare whole values", async () => {
  assert(timingSafeEqual(toBytes("abc"), toBytes("abc")));
  assert(!timingSafeEqual(toBytes("abc"), toBytes("abd")));
  assert(!timingSafeEqual(toBytes("abc"), toBytes("abcd")));
  assert(await safeEqualString("secret", "secret"));
  assert(!(await safeEqualString("secret", "secret ")));
  assert(!(await safeEqualString(undefined, "secret")));
  assert(!(await safeEqualString("", "")));
});
