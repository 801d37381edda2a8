/* sampler.c — temperature, top-k, top-p sampling; see sampler.h.
 *
 * Order of operations (the same as Hugging Face's logits processors):
 * scale by 1/T, keep the top k, then keep the smallest prefix of the sorted
 * rest whose probability reaches p, renormalise, draw.
 *
 * Top-p without sorting all V tokens: every token with probability below
 * c = (1 - p) / V can be dropped before sorting, because all such tokens
 * together hold less than V * c = 1 - p, so the tokens at or above c hold
 * more than p and the nucleus (a prefix of the sorted order) lies within
 * them. Ties are broken by the lower token id, so the order is total and the
 * result depends only on the logits and the rng. */
#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>

#include "core/check.h"
#include "core/error.h"

void rlvr_sampler_init(rlvr_sampler *s, int vocab_size) {
  RLVR_CHECK(vocab_size > 0);
  s->vocab_size = vocab_size;
  s->probs = xmalloc_aligned((size_t)vocab_size * sizeof(float));
  s->order = xmalloc((size_t)vocab_size * sizeof(int));
}

void rlvr_sampler_free(rlvr_sampler *s) {
  if (!s) return;
  free(s->probs);
  free(s->order);
  s->probs = NULL;
  s->order = NULL;
}

int rlvr_sampling_validate(const rlvr_sampling *p) {
  if (!(p->temperature >= 0.0f) || !isfinite(p->temperature))
    return rlvr_error(RLVR_ERR_CONFIG, "sample.temperature must be a finite number >= 0, is %g", p->temperature);
  if (p->top_k < 0) return rlvr_error(RLVR_ERR_CONFIG, "sample.top_k must be >= 0, is %d", p->top_k);
  if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
    return rlvr_error(RLVR_ERR_CONFIG, "sample.top_p must be in (0, 1], is %g", p->top_p);
  return RLVR_OK;
}

static int argmax(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

/* Descending by probability, then ascending by id. qsort_r: samplers run
 * on many threads at once. */
static int cmp_desc(const void *a, const void *b, void *ctx) {
  const float *probs = ctx;
  int i = *(const int *)a, j = *(const int *)b;
  float pi = probs[i], pj = probs[j];
  if (pi != pj) return pi > pj ? -1 : 1;
  return (i > j) - (i < j);
}

/* Moves the k best of order[0..n) to the front, sorted; returns k. A binary
 * heap of the k best seen so far (worst at the root): O(n log k). */
static int heap_worse(const float *p, int a, int b) { /* a ranks below b */
  return p[a] < p[b] || (p[a] == p[b] && a > b);
}
static void sift_down(int *h, int k, int i, const float *p) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, w = i;
    if (l < k && heap_worse(p, h[l], h[w])) w = l;
    if (r < k && heap_worse(p, h[r], h[w])) w = r;
    if (w == i) return;
    int t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}
static int select_top_k(int *order, int n, int k, const float *p) {
  if (k >= n) k = n;
  for (int i = k / 2 - 1; i >= 0; i--) sift_down(order, k, i, p);
  for (int i = k; i < n; i++) {
    if (heap_worse(p, order[0], order[i])) {
      order[0] = order[i];
      sift_down(order, k, 0, p);
    }
  }
  qsort_r(order, (size_t)k, sizeof *order, cmp_desc, (void *)p);
  return k;
}

int rlvr_sampler_sample(rlvr_sampler *s, const float *logits, const rlvr_sampling *p, rlvr_rng *rng,
                        float *logprob) {
  const int V = s->vocab_size;
  const float T = p->temperature > 0.0f ? p->temperature : 1.0f;
  /* Softmax of logits / T in double for the normaliser: the reported
   * log-prob is x_i/T - max - log(sum exp(x_j/T - max)). */
  float maxv = logits[0] / T;
  for (int i = 1; i < V; i++) {
    float v = logits[i] / T;
    if (v > maxv) maxv = v;
  }
  double sum = 0.0;
  for (int i = 0; i < V; i++) {
    float e = expf(logits[i] / T - maxv);
    s->probs[i] = e;
    sum += e;
  }
  const float logz = maxv + (float)log(sum);
  int token;
  if (p->temperature == 0.0f) {
    token = argmax(logits, V);
  } else {
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < V; i++) s->probs[i] *= inv;
    int n = 0;
    if (p->top_p < 1.0f && p->top_k == 0) {
      const float cutoff = (1.0f - p->top_p) / (float)V;
      for (int i = 0; i < V; i++)
        if (s->probs[i] >= cutoff) s->order[n++] = i;
    } else {
      for (int i = 0; i < V; i++) s->order[n++] = i;
    }
    if (p->top_k > 0) {
      n = select_top_k(s->order, n, p->top_k, s->probs);
    } else if (p->top_p < 1.0f) {
      qsort_r(s->order, (size_t)n, sizeof *s->order, cmp_desc, s->probs);
    }
    /* Nucleus: the smallest sorted prefix whose mass reaches top_p,
     * measured after top-k renormalisation as Hugging Face does. */
    /* The mass top-p is measured against: everything top-k kept, or the
     * whole vocabulary (not just the candidates above the cutoff). */
    double kept = 0.0;
    if (p->top_k > 0)
      for (int i = 0; i < n; i++) kept += s->probs[s->order[i]];
    else
      for (int i = 0; i < V; i++) kept += s->probs[i];
    if (p->top_p < 1.0f) {
      double cum = 0.0;
      int m = 0;
      while (m < n) {
        cum += s->probs[s->order[m++]];
        if (cum / kept >= p->top_p) break;
      }
      n = m;
      kept = cum;
    }
    double u = rlvr_rng_double(rng) * kept;
    token = s->order[n - 1];
    double cum = 0.0;
    for (int i = 0; i < n; i++) {
      cum += s->probs[s->order[i]];
      if (u < cum) {
        token = s->order[i];
        break;
      }
    }
  }
  if (logprob) *logprob = logits[token] / T - logz;
  return token;
}
