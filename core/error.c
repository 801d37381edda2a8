/* error.c — thread-local error messages; see error.h. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[2048];

const char *rlvr_strerror(int code) {
  switch (code) {
  case RLVR_OK: return "ok";
  case RLVR_ERR_IO: return "input/output error";
  case RLVR_ERR_FORMAT: return "malformed input";
  case RLVR_ERR_UNSUPPORTED: return "unsupported";
  case RLVR_ERR_ARG: return "bad argument";
  case RLVR_ERR_NOMEM: return "out of memory or over budget";
  case RLVR_ERR_RANGE: return "value out of range";
  case RLVR_ERR_CONFIG: return "configuration error";
  case RLVR_ERR_SCRIPT: return "script error";
  case RLVR_ERR_TIMEOUT: return "timeout";
  case RLVR_ERR_PROTOCOL: return "protocol error";
  case RLVR_ERR_MISMATCH: return "mismatch";
  default: return "unknown error";
  }
}

int rlvr_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return code;
}

int rlvr_error_wrap(int code, const char *fmt, ...) {
  char old[sizeof message];
  memcpy(old, message, sizeof old);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof message && old[0])
    snprintf(message + n, sizeof message - (size_t)n, ": %s", old);
  return code;
}

const char *rlvr_error_message(void) { return message; }

void rlvr_error_clear(void) { message[0] = '\0'; }
