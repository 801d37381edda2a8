/* jsonmp.h — JSON text to a msgpack value, for the task references and meta
 * objects that work messages carry as msgpack maps (docs/protocol.md,
 * "value"): objects become maps with str keys, arrays arrays, strings str,
 * true/false bool, null nil, numbers int when they are integers that fit in
 * int64 (as JSON writes them: no fraction, no exponent), else float64. */
#ifndef RLVR_JSONMP_H
#define RLVR_JSONMP_H

#include <stddef.h>
#include <stdint.h>

/* Converts len bytes of JSON text (one value). *out is malloc'd on success;
 * RLVR_ERR_FORMAT naming what (for messages) when the text is not JSON or
 * nests deeper than 16 levels; *out untouched then. */
int rlvr_json_to_msgpack(const char *json, size_t len, const char *what, uint8_t **out, size_t *out_len);

#endif
