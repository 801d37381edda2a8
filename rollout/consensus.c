/* consensus.c — group votes, maj@G / pass@G and consensus rewards; see
 * consensus.h. */
#include "rollout/consensus.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "rollout/eval.h"
#include "verifiers/mathlib_equiv.h"
#include "verifiers/mathlib_extract.h"

/* The arena of one call: the budget rlvr_majority_vote gives its own. */
enum { ARENA_BUDGET = 64 << 20, ARENA_MAX_BITS = 1 << 17 };

char *rlvr_consensus_sample_answer(const char *details, const char *text, size_t len, int fallback) {
  char *out = NULL;
  if (details) {
    cJSON *d = cJSON_Parse(details);
    const cJSON *x = d ? cJSON_GetObjectItemCaseSensitive(d, "extracted") : NULL;
    if (cJSON_IsString(x) && x->valuestring) out = xstrdup(x->valuestring);
    cJSON_Delete(d);
  }
  if (!out && fallback && text) {
    rlvr_mx_extract_opts eo;
    rlvr_mx_extract_opts_default(&eo);
    size_t start, alen;
    if (rlvr_mx_extract(text, len, &eo, &start, &alen) != RLVR_MXE_NONE && alen > 0) {
      out = xmalloc(alen + 1);
      memcpy(out, text + start, alen);
      out[alen] = 0;
    }
  }
  if (out && !out[0]) {
    free(out);
    out = NULL;
  }
  if (out && strlen(out) > RLVR_CONSENSUS_ANSWER_MAX) out[RLVR_CONSENSUS_ANSWER_MAX] = 0;
  return out;
}

int rlvr_consensus_rewards(const char *const *answers, int n, double *reward, int *votes) {
  RLVR_CHECK(n >= 0);
  const int winner = rlvr_majority_vote(answers, n, votes);
  for (int i = 0; i < n; i++) reward[i] = 0.0;
  if (winner < 0) return -1;
  const char *label = answers[winner];
  rlvr_mctx m;
  rlvr_mctx_init(&m, ARENA_BUDGET, ARENA_MAX_BITS);
  rlvr_mq_opts mo;
  rlvr_mq_opts_default(&mo);
  for (int i = 0; i < n; i++) {
    if (!answers[i]) continue;
    if (i == winner) {
      reward[i] = 1.0;
      continue;
    }
    rlvr_mq_result r;
    rlvr_mctx_reset(&m);
    rlvr_mq_equal(&m, label, strlen(label), answers[i], strlen(answers[i]), &mo, &r);
    reward[i] = r.equal ? 1.0 : 0.0;
  }
  rlvr_mctx_free(&m);
  return winner;
}

int rlvr_consensus_group_label_stats(const char *const *answers, const int *correct, int n, int *majority_correct,
                                     int *any_correct) {
  const int winner = rlvr_majority_vote(answers, n, NULL);
  int any = 0;
  for (int i = 0; i < n; i++) any |= correct[i] != 0;
  *any_correct = any;
  *majority_correct = winner >= 0 && correct[winner];
  return winner;
}
