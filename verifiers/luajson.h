/* luajson.h — JSON in and out of verifier sandboxes.
 *
 * In: a parsed cJSON value becomes a Lua value (objects and arrays become
 * tables, arrays 1-based; null becomes nil, so a null inside an array leaves
 * a hole; numbers that are integral and within +-2^53 become Lua integers,
 * others floats; numbers are doubles, so references that need more digits
 * must be written as strings).
 *
 * Out: a Lua value becomes JSON text without running any Lua code (no
 * metamethods, raw access only). A table whose keys are exactly 1..n (n > 0)
 * is an array; any other table is an object whose keys (strings, and numbers
 * written as text; other key types are skipped) are sorted bytewise, so the
 * same details give the same text whatever Lua's hash order. Floats are
 * written in the shortest form that reads back to the same double; NaN and
 * infinities become null. Strings are written as UTF-8 with invalid bytes
 * replaced by U+FFFD. Bounds, so a script cannot make the output huge:
 * strings are cut after RLVR_JSON_STRING_MAX bytes (the cut is marked), and
 * nesting past RLVR_JSON_DEPTH_MAX levels is written as the string "...";
 * encoding stops adding to the buffer once it holds more than the caller's
 * limit (the caller checks b->len and discards the text). Functions and
 * other non-data values are written as strings naming their type. */
#ifndef RLVR_LUAJSON_H
#define RLVR_LUAJSON_H

#include <cjson/cJSON.h>
#include <lua.h>
#include <stddef.h>

enum { RLVR_JSON_STRING_MAX = 4096, RLVR_JSON_DEPTH_MAX = 32 };

/* A growable byte buffer (owned data, NUL-terminated after every append). */
typedef struct {
  char *data;
  size_t len, cap;
} rlvr_jbuf;

void rlvr_jbuf_put(rlvr_jbuf *b, const char *s, size_t n);
void rlvr_jbuf_puts(rlvr_jbuf *b, const char *s);
void rlvr_jbuf_free(rlvr_jbuf *b); /* accepts a zeroed buffer */

/* A JSON string literal of s[0..n); if max_bytes > 0, input past max_bytes
 * is dropped and "...[cut N bytes]" appended inside the literal. */
void rlvr_json_put_string(rlvr_jbuf *b, const char *s, size_t n, size_t max_bytes);
/* The shortest decimal that reads back as x; NaN and infinities as null. */
void rlvr_json_put_number(rlvr_jbuf *b, double x);

/* Appends the JSON text of the Lua value at idx (see above for the rules),
 * adding nothing more once b->len exceeds limit. Must run inside a protected
 * call: it grows the Lua stack and allocates one scratch userdata per object. */
void rlvr_luajson_encode(lua_State *L, int idx, rlvr_jbuf *b, size_t limit);

/* Pushes the Lua value of node. Must run inside a protected call. */
void rlvr_luajson_push(lua_State *L, const cJSON *node);

#endif
