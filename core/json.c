/* json.c — cJSON output as a plain malloc'd string; see json.h. */
#include "core/json.h"

#include "core/check.h"

char *rlvr_json_print(const cJSON *j, int pretty) {
  char *t = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
  RLVR_CHECK(t != NULL, "printing JSON: out of memory");
  char *copy = xstrdup(t);
  cJSON_free(t);
  return copy;
}
