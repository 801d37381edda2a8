/* test_kernels.c — the model's CPU kernels against plain double-precision
 * loops, and the row-independence of the forward kernels that decode/forward
 * exactness rests on (model/kernels.h).
 *
 * Shapes are chosen off every block size (MR 12, NR 32, KC 256, MB 96, 16
 * lanes), so that every tail path runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/kernels.h"
#include "testing.h"

static void fill(float *x, size_t n, rlvr_rng *r, float scale) {
  for (size_t i = 0; i < n; i++) x[i] = scale * rlvr_rng_normal(r);
}

/* Y = X W^T + b in double, rounded once. */
static void ref_linear(float *Y, const float *X, const float *W, const float *b, int M, int N, int K) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = b ? b[n] : 0;
      for (int k = 0; k < K; k++) s += (double)X[(size_t)m * K + k] * W[(size_t)n * K + k];
      Y[(size_t)m * N + n] = (float)s;
    }
}

static void test_linear(int M, int N, int K, int with_bias) {
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(M * 1000003 + N * 1009 + K));
  float *X = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *b = malloc(sizeof(float) * N);
  float *Y = malloc(sizeof(float) * M * N), *Yr = malloc(sizeof(float) * M * N), *Y1 = malloc(sizeof(float) * M * N);
  float *scratch = malloc(sizeof(float) * rlvr_linear_scratch(M, K));
  fill(X, (size_t)M * K, &r, 1), fill(W, (size_t)N * K, &r, 1.0f / sqrtf((float)K)), fill(b, N, &r, 1);
  rlvr_linear_forward(Y, X, W, with_bias ? b : NULL, M, N, K, scratch);
  ref_linear(Yr, X, W, with_bias ? b : NULL, M, N, K);
  char what[96];
  snprintf(what, sizeof what, "linear forward M=%d N=%d K=%d bias=%d", M, N, K, with_bias);
  /* float32 accumulation of K products of O(1/sqrt K) terms: error ~ sqrt(K) ulp of O(1). */
  CHECK_CLOSE(what, Y, Yr, (size_t)M * N, 2e-6 * sqrt((double)K), 1e-5);

  /* Row independence: any subset of rows, computed alone or in another
   * batch, gives the same bits. */
  int bad = 0;
  const int starts[] = {0, 1, M / 3, M - 1};
  const int counts[] = {1, 2, 5, 33};
  for (int s = 0; s < 4; s++)
    for (int c = 0; c < 4; c++) {
      int m0 = starts[s], n = counts[c];
      if (m0 < 0 || m0 + n > M) continue;
      float *sub = malloc(sizeof(float) * n * N);
      rlvr_linear_forward(sub, X + (size_t)m0 * K, W, with_bias ? b : NULL, n, N, K, scratch);
      if (memcmp(sub, Y + (size_t)m0 * N, sizeof(float) * n * N)) bad++;
      free(sub);
    }
  CHECK_MSG(bad == 0, "%s: %d row subsets differ from the full batch", what, bad);

  /* Backward: dX = dY W, dW += dY^T X, db += colsum dY, against double loops. */
  float *dY = malloc(sizeof(float) * M * N), *dX = malloc(sizeof(float) * M * K), *dXr = malloc(sizeof(float) * M * K);
  float *dW = malloc(sizeof(float) * N * K), *dWr = malloc(sizeof(float) * N * K), *db = malloc(sizeof(float) * N),
        *dbr = malloc(sizeof(float) * N);
  fill(dY, (size_t)M * N, &r, 1);
  for (int m = 0; m < M; m++)
    for (int k = 0; k < K; k++) {
      double s = 0.5; /* accumulate onto 0.5 */
      for (int n = 0; n < N; n++) s += (double)dY[(size_t)m * N + n] * W[(size_t)n * K + k];
      dXr[(size_t)m * K + k] = (float)s;
      dX[(size_t)m * K + k] = 0.5f;
    }
  for (int n = 0; n < N; n++) {
    double sb = 0.25;
    for (int m = 0; m < M; m++) sb += dY[(size_t)m * N + n];
    dbr[n] = (float)sb, db[n] = 0.25f;
    for (int k = 0; k < K; k++) {
      double s = -1;
      for (int m = 0; m < M; m++) s += (double)dY[(size_t)m * N + n] * X[(size_t)m * K + k];
      dWr[(size_t)n * K + k] = (float)s;
      dW[(size_t)n * K + k] = -1;
    }
  }
  rlvr_linear_backward_x(dX, dY, W, M, N, K, 1);
  rlvr_linear_backward_w(dW, db, dY, X, M, N, K);
  snprintf(what, sizeof what, "linear dX M=%d N=%d K=%d", M, N, K);
  CHECK_CLOSE(what, dX, dXr, (size_t)M * K, 2e-6 * sqrt((double)N), 1e-5);
  snprintf(what, sizeof what, "linear dW M=%d N=%d K=%d", M, N, K);
  CHECK_CLOSE(what, dW, dWr, (size_t)N * K, 4e-6 * sqrt((double)M), 1e-5);
  snprintf(what, sizeof what, "linear db M=%d N=%d", M, N);
  CHECK_CLOSE(what, db, dbr, (size_t)N, 4e-6 * sqrt((double)M), 1e-5);
  /* Overwrite mode of dX. */
  rlvr_linear_backward_x(dX, dY, W, M, N, K, 0);
  for (size_t i = 0; i < (size_t)M * K; i++) dXr[i] -= 0.5f;
  snprintf(what, sizeof what, "linear dX overwrite M=%d N=%d K=%d", M, N, K);
  CHECK_CLOSE(what, dX, dXr, (size_t)M * K, 2e-6 * sqrt((double)N), 1e-5);

  free(X), free(W), free(b), free(Y), free(Yr), free(Y1), free(scratch);
  free(dY), free(dX), free(dXr), free(dW), free(dWr), free(db), free(dbr);
}

static void test_expf(void) {
  double worst = 0;
  for (int i = 0; i <= 200000; i++) {
    float x = -87.0f + 175.0f * (float)i / 200000.0f;
    double want = exp((double)x), got = rlvr_expf(x);
    double rel = fabs(got - want) / want;
    if (rel > worst) worst = rel;
  }
  printf("ok   expf max relative error %.3g over [-87, 88]\n", worst);
  CHECK(worst < 3e-7); /* ~2.5 ulp */
  CHECK(rlvr_expf(-1e30f) >= 0 && rlvr_expf(-1e30f) < 1e-37f);
  CHECK(isfinite(rlvr_expf(1e30f)));
  CHECK(rlvr_expf(0) == 1.0f);
}

static void test_rmsnorm(void) {
  enum { N = 7, C = 37 };
  rlvr_rng r;
  rlvr_rng_seed(&r, 5);
  float x[N * C], w[C], y[N * C], rstd[N], dy[N * C], dx[N * C], dw[C];
  fill(x, N * C, &r, 2), fill(w, C, &r, 1), fill(dy, N * C, &r, 1);
  const float eps = 1e-5f;
  rlvr_rmsnorm_forward(y, rstd, x, w, N, C, eps);
  float yr[N * C];
  for (int n = 0; n < N; n++) {
    double ss = 0;
    for (int c = 0; c < C; c++) ss += (double)x[n * C + c] * x[n * C + c];
    double rr = 1 / sqrt(ss / C + eps);
    for (int c = 0; c < C; c++) yr[n * C + c] = (float)(x[n * C + c] * rr * w[c]);
  }
  CHECK_CLOSE("rmsnorm forward", y, yr, N * C, 1e-6, 1e-5);
  /* Backward against central differences of L = sum dy * y in double. */
  memset(dx, 0, sizeof dx), memset(dw, 0, sizeof dw);
  rlvr_rmsnorm_backward(dx, dw, dy, x, w, rstd, N, C);
  float dxr[N * C], dwr[C];
  double xd[C];
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      double lp[2];
      for (int s = 0; s < 2; s++) {
        for (int j = 0; j < C; j++) xd[j] = x[n * C + j];
        xd[c] += s ? -1e-4 : 1e-4;
        double ss = 0;
        for (int j = 0; j < C; j++) ss += xd[j] * xd[j];
        double rr = 1 / sqrt(ss / C + eps), L = 0;
        for (int j = 0; j < C; j++) L += dy[n * C + j] * xd[j] * rr * w[j];
        lp[s] = L;
      }
      dxr[n * C + c] = (float)((lp[0] - lp[1]) / 2e-4);
    }
  for (int c = 0; c < C; c++) {
    double s = 0;
    for (int n = 0; n < N; n++) s += (double)dy[n * C + c] * x[n * C + c] * rstd[n];
    dwr[c] = (float)s;
  }
  CHECK_CLOSE("rmsnorm dx (finite differences)", dx, dxr, N * C, 1e-5, 1e-4);
  CHECK_CLOSE("rmsnorm dw", dw, dwr, C, 1e-5, 1e-5);
}

static void test_logsoftmax(void) {
  enum { V = 1000 };
  rlvr_rng r;
  rlvr_rng_seed(&r, 9);
  float z[V], scratch[V], lse, ent;
  fill(z, V, &r, 3);
  rlvr_logsoftmax_row(z, V, &lse, &ent, scratch);
  double m = z[0], S = 0, H = 0;
  for (int j = 0; j < V; j++) m = z[j] > m ? z[j] : m;
  for (int j = 0; j < V; j++) S += exp(z[j] - m);
  double lr = m + log(S);
  for (int j = 0; j < V; j++) H -= exp(z[j] - lr) * (z[j] - lr);
  float got[2] = {lse, ent}, want[2] = {(float)lr, (float)H};
  CHECK_CLOSE("logsoftmax lse, entropy", got, want, 2, 2e-6, 2e-6);
  /* Gradient of 0.7 logprob[3] - 0.4 entropy by central differences. */
  float g[V];
  memcpy(g, z, sizeof z);
  rlvr_logsoftmax_row_backward(g, V, lse, ent, 3, 0.7f, -0.4f);
  float gr[V];
  double zd[V];
  for (int i = 0; i < V; i++) {
    double L[2];
    for (int s = 0; s < 2; s++) {
      for (int j = 0; j < V; j++) zd[j] = z[j];
      zd[i] += s ? -1e-5 : 1e-5;
      double mm = zd[0], SS = 0, HH = 0;
      for (int j = 0; j < V; j++) mm = zd[j] > mm ? zd[j] : mm;
      for (int j = 0; j < V; j++) SS += exp(zd[j] - mm);
      double l = mm + log(SS);
      for (int j = 0; j < V; j++) HH -= exp(zd[j] - l) * (zd[j] - l);
      L[s] = 0.7 * (zd[3] - l) - 0.4 * HH;
    }
    gr[i] = (float)((L[0] - L[1]) / 2e-5);
  }
  CHECK_CLOSE("logsoftmax backward (finite differences)", g, gr, V, 1e-6, 1e-4);
}

int main(void) {
  test_expf();
  const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {37, 70, 45}, {130, 97, 300}, {100, 200, 513}, {5, 64, 1030}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    test_linear(shapes[i][0], shapes[i][1], shapes[i][2], 0);
    test_linear(shapes[i][0], shapes[i][1], shapes[i][2], 1);
  }
  {
    float ones[100];
    for (int i = 0; i < 100; i++) ones[i] = 0.1f * (float)i;
    float s = rlvr_sum_fixed(ones, 100);
    CHECK(fabsf(s - 495.0f) < 1e-3f);
  }
  test_rmsnorm();
  test_logsoftmax();
  return test_done();
}
