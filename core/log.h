/* log.h — leveled log lines on stderr: "rlvr: [level] message". */
#ifndef RLVR_LOG_H
#define RLVR_LOG_H

#include "core/check.h"

typedef enum {
  RLVR_LOG_DEBUG = 0,
  RLVR_LOG_INFO = 1,
  RLVR_LOG_WARN = 2,
  RLVR_LOG_ERROR = 3,
} rlvr_log_level;

void rlvr_log_set_level(rlvr_log_level level);
void rlvr_log(rlvr_log_level level, const char *fmt, ...) RLVR_PRINTF(2, 3);

#define rlvr_debug(...) rlvr_log(RLVR_LOG_DEBUG, __VA_ARGS__)
#define rlvr_info(...) rlvr_log(RLVR_LOG_INFO, __VA_ARGS__)
#define rlvr_warn(...) rlvr_log(RLVR_LOG_WARN, __VA_ARGS__)
#define rlvr_err(...) rlvr_log(RLVR_LOG_ERROR, __VA_ARGS__)

#endif
