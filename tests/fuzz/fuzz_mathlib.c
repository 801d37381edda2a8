/* fuzz_mathlib.c — the math answer path on arbitrary bytes: extraction,
 * parsing, equivalence (verifiers/mathlib_equiv.h) and the countdown
 * arithmetic (mathlib_arith.h). The input is split at its first NUL byte into
 * a completion and a reference (no NUL: the same bytes are both). Checks:
 * no crash, no leak past a context reset, and a score of 0 or 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "verifiers/mathlib_arith.h"
#include "verifiers/mathlib_equiv.h"
#include "verifiers/mathlib_expr.h"

static rlvr_mctx ctx;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready) {
    rlvr_mctx_init(&ctx, 64u << 20, 1 << 17);
    ready = 1;
  }
  const char *s = (const char *)data;
  const char *nul = memchr(s, 0, size);
  const char *comp = s, *ref = s;
  size_t clen = size, rlen = size;
  if (nul) {
    clen = (size_t)(nul - s);
    ref = nul + 1;
    rlen = size - clen - 1;
  }
  rlvr_mctx_reset(&ctx);
  rlvr_mq_verdict v;
  rlvr_mq_verify(&ctx, comp, clen, ref, rlen, NULL, NULL, &v);
  RLVR_CHECK(v.score == 0.0 || v.score == 1.0);
  rlvr_mctx_reset(&ctx);
  rlvr_mq_result r;
  rlvr_mq_equal(&ctx, ref, rlen, comp, clen, NULL, &r);
  RLVR_CHECK(r.equal == 0 || r.equal == 1);
  rlvr_mctx_reset(&ctx);
  rlvr_mx_expr e;
  if (rlvr_mx_parse(&ctx, comp, clen, &e) == 0) {
    char *out;
    size_t olen;
    rlvr_rat q;
    rlvr_mx_print(&ctx, e.root, &out, &olen);
    rlvr_mx_eval_exact(&ctx, e.root, &q);
    int lost = 0;
    (void)rlvr_mx_eval_num(e.root, 3, &lost);
  }
  rlvr_mctx_reset(&ctx);
  rlvr_arith_result a;
  (void)rlvr_arith_eval(&ctx, comp, clen, &a);
  return 0;
}
