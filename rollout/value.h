/* value.h — a protocol "value" (a JSON-like msgpack object: the reference
 * answer map and task meta of a work group, docs/protocol.md) written as JSON
 * text, which is what the verifier host takes (verifiers/host.h). The
 * opposite direction is learner/jsonmp.h.
 *
 * Mapping: nil null, bool true/false, ints as decimal integers (exact to
 * 64 bits), floats as the shortest %.17g form that reads back the same
 * double (non-finite ones are refused: JSON has none), str as JSON strings
 * (bytes >= 0x80 passed through, control characters escaped), arrays and maps
 * (str keys) as arrays and objects. bin and ext are refused. */
#ifndef RLVR_VALUE_H
#define RLVR_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* Converts the one msgpack object in mp[0..len) to JSON text: *out is
 * malloc'd and NUL-terminated (*out_len without the NUL). RLVR_ERR_FORMAT
 * naming `what` (truncated input, trailing bytes, bin/ext, a non-str map key,
 * a non-finite float, nesting deeper than 32); *out untouched on error. */
int rlvr_msgpack_to_json(const uint8_t *mp, size_t len, const char *what, char **out, size_t *out_len);

#endif
