/* json.h — cJSON output as a plain malloc'd string.
 *
 * cJSON_Print* returns memory that must go back through cJSON_free; the
 * project's functions that return JSON text hand out strings the caller
 * free()s, so they print and copy. This is that step, in one place. */
#ifndef RLVR_JSON_H
#define RLVR_JSON_H

#include <cjson/cJSON.h>

/* j as JSON text: indented when pretty, else on one line. The result is
 * malloc'd (the caller frees it); j is left as it is. Out of memory aborts. */
char *rlvr_json_print(const cJSON *j, int pretty);

#endif
