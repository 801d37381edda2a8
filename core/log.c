/* log.c — see log.h. One fprintf per line so that lines from threads and
 * processes sharing stderr do not interleave mid-line. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static rlvr_log_level min_level = RLVR_LOG_INFO;

void rlvr_log_set_level(rlvr_log_level level) { min_level = level; }

void rlvr_log(rlvr_log_level level, const char *fmt, ...) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (level < min_level) return;
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "rlvr: [%s] %s\n", names[level], line);
}
