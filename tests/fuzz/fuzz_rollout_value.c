/* fuzz_rollout_value.c — libFuzzer target for rollout/value.h (a protocol
 * value, msgpack from the network, to the JSON text verifiers read) and
 * rlvr_rollout_endpoints (an address from the command line).
 *
 * Properties beyond "no crash, no leak": a value that converts gives text
 * that cJSON parses; when learner/jsonmp.h reads that text back, converting
 * it once more reaches a fixpoint (JSON -> msgpack -> JSON gives the same
 * text the second time round: integers, floats, strings and nesting survive).
 * Seeds: tests/fuzz/corpus/rollout_value/ (maps, arrays, numbers of every
 * width, escapes, and addresses prefixed with '@'). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "learner/jsonmp.h"
#include "rollout/value.h"
#include "rollout/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0 && data[0] == '@') { /* an address */
    char *addr = malloc(size);
    memcpy(addr, data + 1, size - 1);
    addr[size - 1] = 0;
    char a[RLVR_ENDPOINT_MAX], b[RLVR_ENDPOINT_MAX], c[RLVR_ENDPOINT_MAX];
    if (rlvr_rollout_endpoints(addr, a, b, c) == RLVR_OK)
      RLVR_CHECK(strlen(a) < RLVR_ENDPOINT_MAX && strlen(b) < RLVR_ENDPOINT_MAX && strlen(c) < RLVR_ENDPOINT_MAX);
    free(addr);
    return 0;
  }
  char *t1 = NULL;
  size_t n1;
  if (rlvr_msgpack_to_json(data, size, "fuzz", &t1, &n1) != RLVR_OK) return 0;
  RLVR_CHECK(strlen(t1) == n1 || memchr(t1, 0, n1) != NULL, "length");
  cJSON *j = cJSON_ParseWithLength(t1, n1);
  /* cJSON stops at a NUL inside a string (msgpack allows one): then it may
   * not parse; everything else must. */
  RLVR_CHECK(j != NULL || memchr(t1, 0, n1) != NULL, "not JSON: %s", t1);
  cJSON_Delete(j);
  uint8_t *mp2 = NULL, *mp3 = NULL;
  size_t m2, m3, n2, n3;
  char *t2 = NULL, *t3 = NULL;
  if (!memchr(t1, 0, n1) && rlvr_json_to_msgpack(t1, n1, "fuzz", &mp2, &m2) == RLVR_OK &&
      rlvr_msgpack_to_json(mp2, m2, "fuzz", &t2, &n2) == RLVR_OK &&
      rlvr_json_to_msgpack(t2, n2, "fuzz", &mp3, &m3) == RLVR_OK &&
      rlvr_msgpack_to_json(mp3, m3, "fuzz", &t3, &n3) == RLVR_OK)
    RLVR_CHECK(n2 == n3 && !memcmp(t2, t3, n2), "no fixpoint:\n%s\n%s", t2, t3);
  free(t1), free(t2), free(t3), free(mp2), free(mp3);
  return 0;
}
