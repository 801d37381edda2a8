/* test_value.c — rollout/value.h: msgpack values (packed here by msgpack-c,
 * an independent writer) to JSON text, compared with the text written out
 * by hand; and every malformed input refused with RLVR_ERR_FORMAT, including
 * a 30-byte input that claims a container of 4 billion entries (refused
 * before anything is allocated for it). */
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "rollout/value.h"
#include "testing.h"

static void expect_json(const char *what, const msgpack_sbuffer *sb, const char *want) {
  char *out = NULL;
  size_t n = 0;
  int rc = rlvr_msgpack_to_json((const uint8_t *)sb->data, sb->size, what, &out, &n);
  CHECK_MSG(rc == RLVR_OK, "%s: %s", what, rlvr_error_message());
  if (rc) return;
  CHECK_MSG(n == strlen(want) && !strcmp(out, want), "%s:\n got  %s\n want %s", what, out, want);
  free(out);
}

static void expect_error(const char *what, const void *data, size_t len) {
  char *out = (char *)"untouched";
  size_t n = 7;
  int rc = rlvr_msgpack_to_json(data, len, what, &out, &n);
  CHECK_MSG(rc == RLVR_ERR_FORMAT && !strcmp(out, "untouched") && n == 7, "%s: rc %d", what, rc);
  if (rc == RLVR_ERR_FORMAT) printf("     %s\n", rlvr_error_message());
}

int main(void) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "answer", 6);
  msgpack_pack_str_with_body(&pk, "6", 1);
  msgpack_pack_str_with_body(&pk, "answers", 7);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_str_with_body(&pk, "1/2", 3);
  msgpack_pack_double(&pk, 0.5);
  msgpack_pack_int(&pk, 3);
  msgpack_pack_str_with_body(&pk, "opts", 4);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "t", 1);
  msgpack_pack_true(&pk);
  msgpack_pack_str_with_body(&pk, "f", 1);
  msgpack_pack_false(&pk);
  msgpack_pack_str_with_body(&pk, "n", 1);
  msgpack_pack_nil(&pk);
  expect_json("reference map", &sb, "{\"answer\":\"6\",\"answers\":[\"1/2\",0.5,3],\"opts\":{\"t\":true,\"f\":false,\"n\":null}}");

  msgpack_sbuffer_clear(&sb);
  msgpack_pack_array(&pk, 12);
  msgpack_pack_uint8(&pk, 200);
  msgpack_pack_uint16(&pk, 65535);
  msgpack_pack_uint32(&pk, 4294967295u);
  msgpack_pack_uint64(&pk, 18446744073709551615ull);
  msgpack_pack_int8(&pk, -128);
  msgpack_pack_int64(&pk, INT64_MIN);
  msgpack_pack_int(&pk, -5);
  msgpack_pack_float(&pk, 1.5f);
  msgpack_pack_double(&pk, 0.1);
  msgpack_pack_double(&pk, 3.0);
  msgpack_pack_double(&pk, -2.5e-300);
  msgpack_pack_float(&pk, 0.1f);
  expect_json("numbers", &sb,
              "[200,65535,4294967295,18446744073709551615,-128,-9223372036854775808,-5,1.5,0.1,3.0,-2.5e-300,"
              "0.10000000149011612]");

  msgpack_sbuffer_clear(&sb);
  const char s[] = "q\"b\\n\nt\tc\x01 \xc3\xa9";
  msgpack_pack_str_with_body(&pk, s, sizeof s - 1);
  expect_json("escapes", &sb, "\"q\\\"b\\\\n\\nt\\tc\\u0001 \xc3\xa9\"");

  /* errors */
  msgpack_sbuffer_clear(&sb);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "b", 1);
  msgpack_pack_bin_with_body(&pk, "\x00\x01", 2);
  expect_error("bin", sb.data, sb.size);
  msgpack_sbuffer_clear(&sb);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  expect_error("int key", sb.data, sb.size);
  msgpack_sbuffer_clear(&sb);
  msgpack_pack_double(&pk, NAN);
  expect_error("NaN", sb.data, sb.size);
  msgpack_sbuffer_clear(&sb);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  expect_error("truncated", sb.data, sb.size);
  msgpack_pack_int(&pk, 2);
  msgpack_pack_int(&pk, 3);
  expect_error("trailing", sb.data, sb.size);
  expect_error("empty", "", 0);
  expect_error("reserved", "\xc1", 1);
  const uint8_t huge[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0x01, 0xdd, 0xff, 0xff, 0xff, 0xf0};
  expect_error("a map claiming 2^32-1 entries", huge, sizeof huge);
  uint8_t deep[64];
  memset(deep, 0x91, sizeof deep); /* arrays of one, 64 deep */
  deep[63] = 0x01;
  expect_error("64 levels deep", deep, sizeof deep);
  msgpack_sbuffer_destroy(&sb);
  return test_done();
}
