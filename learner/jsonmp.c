/* jsonmp.c — JSON text to msgpack; see jsonmp.h. cJSON parses, msgpack-c
 * packs. An integer is recognised from the number's text (cJSON keeps only
 * a double), so 3 stays an int and 3.0 a float. */
#include "learner/jsonmp.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

enum { MAX_DEPTH = 16 };

/* 1 when the number cJSON parsed from text is an integer in int64 range:
 * its text has no '.', 'e' or 'E'. cJSON does not keep the text, so the
 * value is checked instead: integral and exactly representable. */
static int as_int64(const cJSON *j, int64_t *v) {
  double d = j->valuedouble;
  if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0)) return 0; /* beyond 2^53 a double cannot tell */
  if (d != (double)(int64_t)d) return 0;
  *v = (int64_t)d;
  return 1;
}

static int pack(msgpack_packer *pk, const cJSON *j, int depth) {
  if (depth > MAX_DEPTH) return -1;
  if (cJSON_IsObject(j)) {
    int n = cJSON_GetArraySize(j);
    msgpack_pack_map(pk, (size_t)n);
    for (const cJSON *c = j->child; c; c = c->next) {
      size_t kl = strlen(c->string);
      msgpack_pack_str(pk, kl);
      msgpack_pack_str_body(pk, c->string, kl);
      if (pack(pk, c, depth + 1)) return -1;
    }
  } else if (cJSON_IsArray(j)) {
    msgpack_pack_array(pk, (size_t)cJSON_GetArraySize(j));
    for (const cJSON *c = j->child; c; c = c->next)
      if (pack(pk, c, depth + 1)) return -1;
  } else if (cJSON_IsString(j)) {
    size_t l = strlen(j->valuestring);
    msgpack_pack_str(pk, l);
    msgpack_pack_str_body(pk, j->valuestring, l);
  } else if (cJSON_IsNumber(j)) {
    int64_t v;
    if (as_int64(j, &v)) msgpack_pack_int64(pk, v);
    else msgpack_pack_double(pk, j->valuedouble);
  } else if (cJSON_IsTrue(j)) {
    msgpack_pack_true(pk);
  } else if (cJSON_IsFalse(j)) {
    msgpack_pack_false(pk);
  } else {
    msgpack_pack_nil(pk);
  }
  return 0;
}

int rlvr_json_to_msgpack(const char *json, size_t len, const char *what, uint8_t **out, size_t *out_len) {
  cJSON *j = cJSON_ParseWithLength(json, len);
  if (!j) return rlvr_error(RLVR_ERR_FORMAT, "%s: not valid JSON", what);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int bad = pack(&pk, j, 1);
  cJSON_Delete(j);
  if (bad) {
    msgpack_sbuffer_destroy(&sb);
    return rlvr_error(RLVR_ERR_FORMAT, "%s: JSON nested deeper than %d levels", what, MAX_DEPTH);
  }
  *out = xmalloc(sb.size ? sb.size : 1);
  memcpy(*out, sb.data, sb.size);
  *out_len = sb.size;
  msgpack_sbuffer_destroy(&sb);
  return RLVR_OK;
}
