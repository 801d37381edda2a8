/* svg.h — the small pieces every HTML page with inline SVG plots needs:
 * a growing string buffer written with printf formats, text escaped for
 * HTML/XML, and the step of "nice" axis ticks. Used by the run report
 * (learner/report.c), the test-time scaling page (rollout/ttscale.c) and the
 * experiment comparison (experiments/compare_html.c); each draws its own
 * plots (their geometry and tick labels differ), these are what they share. */
#ifndef RLVR_SVG_H
#define RLVR_SVG_H

#include <stddef.h>

#include "core/check.h"

/* A NUL-terminated string s[0..len) in cap bytes; zero-initialise it
 * ({0}), append, then take s (malloc'd, the caller frees it; NULL while
 * nothing was appended). */
typedef struct {
  char *s;
  size_t len, cap;
} rlvr_svg_buf;

/* Appends printf(fmt, ...). */
void rlvr_svg_printf(rlvr_svg_buf *b, const char *fmt, ...) RLVR_PRINTF(2, 3);
/* Appends text with &, <, > and " escaped; every other byte is copied. */
void rlvr_svg_text(rlvr_svg_buf *b, const char *text);
/* A tick step of about span / 5: 1, 2 or 5 times a power of ten (so 4 to 8
 * ticks cover the span); 1 when span is not > 0. */
double rlvr_svg_nice_step(double span);

#endif
