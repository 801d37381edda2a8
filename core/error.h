/* error.h — the second kind of error: everything that comes from outside.
 *
 * Functions that read files, configs, messages or scripts return RLVR_OK (0)
 * or a negative RLVR_ERR_* code and leave a message naming the file, field or
 * position in a thread-local buffer (rlvr_error_message). A failed call
 * changes none of its outputs. */
#ifndef RLVR_ERROR_H
#define RLVR_ERROR_H

#include "core/check.h"

enum {
  RLVR_OK = 0,
  RLVR_ERR_IO = -1,          /* open, read, write, mmap, rename failed */
  RLVR_ERR_FORMAT = -2,      /* input is malformed */
  RLVR_ERR_UNSUPPORTED = -3, /* well-formed, but a feature rlvr does not implement */
  RLVR_ERR_ARG = -4,         /* a bad argument or option from the user */
  RLVR_ERR_NOMEM = -5,       /* a budget or allocation limit was hit */
  RLVR_ERR_RANGE = -6,       /* a value out of its allowed range */
  RLVR_ERR_CONFIG = -7,      /* a configuration error */
  RLVR_ERR_SCRIPT = -8,      /* a Lua script failed */
  RLVR_ERR_TIMEOUT = -9,     /* something took longer than allowed */
  RLVR_ERR_PROTOCOL = -10,   /* a message that does not match the protocol */
  RLVR_ERR_MISMATCH = -11,   /* two inputs that must agree do not (shapes, names) */
};

/* A short generic text for a code ("malformed input"). */
const char *rlvr_strerror(int code);

/* Formats the message for the calling thread and returns code, so that
 * `return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor %s: ...", path, name);` reads well. */
int rlvr_error(int code, const char *fmt, ...) RLVR_PRINTF(2, 3);

/* Prefixes the current message: "<prefix>: <old message>". Returns code. */
int rlvr_error_wrap(int code, const char *fmt, ...) RLVR_PRINTF(2, 3);

/* The last message set on this thread ("" if none). */
const char *rlvr_error_message(void);

void rlvr_error_clear(void);

#endif
