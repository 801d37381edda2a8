/* svg.c — string buffer, escaping and tick steps for HTML/SVG pages; see svg.h. */
#include "core/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

void rlvr_svg_printf(rlvr_svg_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  RLVR_CHECK(n >= 0, "svg: bad format '%s'", fmt);
  if (b->len + (size_t)n + 1 > b->cap) {
    while (b->len + (size_t)n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 65536;
    b->s = xrealloc(b->s, b->cap);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void rlvr_svg_text(rlvr_svg_buf *b, const char *text) {
  for (const char *t = text; *t; t++) {
    switch (*t) {
    case '&': rlvr_svg_printf(b, "&amp;"); break;
    case '<': rlvr_svg_printf(b, "&lt;"); break;
    case '>': rlvr_svg_printf(b, "&gt;"); break;
    case '"': rlvr_svg_printf(b, "&quot;"); break;
    default: rlvr_svg_printf(b, "%c", *t);
    }
  }
}

double rlvr_svg_nice_step(double span) {
  if (!(span > 0)) return 1;
  double raw = span / 5, p = pow(10, floor(log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}
