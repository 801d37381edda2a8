/* test_pool.c — the verifier pool: a parallel batch comes back in order and
 * equal to in-process scoring; a worker stuck in C past the deadline is killed
 * and replaced and the rest of the batch is scored; a worker that crashes, or
 * that someone kills, costs only the item it was on; workers hold an address
 * space limit; a worker killed while idle is replaced on the next batch. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing.h"
#include "test_support.h"
#include "core/error.h"
#include "verifiers/pool.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

typedef struct {
  rlvr_verify_item *items;
  char **bufs;
  size_t n;
} batch;

static void batch_add(batch *b, const char *verifier, const char *completion, const char *reference) {
  b->items = realloc(b->items, (b->n + 1) * sizeof *b->items);
  b->bufs = realloc(b->bufs, (b->n + 1) * 2 * sizeof *b->bufs);
  char *c = strdup(completion);
  char *r = reference ? strdup(reference) : NULL;
  b->bufs[2 * b->n] = c;
  b->bufs[2 * b->n + 1] = r;
  b->items[b->n++] = test_item(verifier, c, r);
}

static void batch_free(batch *b) {
  for (size_t i = 0; i < 2 * b->n; i++) free(b->bufs[i]);
  free(b->bufs);
  free(b->items);
  memset(b, 0, sizeof *b);
}

static rlvr_verify_result *score(rlvr_verify_pool *p, const batch *b) {
  rlvr_verify_result *r = calloc(b->n, sizeof *r);
  rlvr_pool_score(p, b->items, b->n, r);
  return r;
}

static rlvr_verify_pool *make_pool(int workers, int64_t timeout_ms) {
  rlvr_verify_options o;
  test_options(&o);
  o.workers = workers;
  o.timeout_ms = timeout_ms;
  rlvr_verify_pool *p = NULL;
  int rc = rlvr_pool_build(&p, &o);
  CHECK_MSG(rc == RLVR_OK, "rlvr_pool_build: %s", rlvr_error_message());
  return p;
}

/* A mixed batch: exact matches and misses, a JSON reference, runaway and
 * failing scripts; expected score of exact items is known from the input. */
static void mixed_batch(batch *b, size_t n) {
  char c[64], r[64];
  for (size_t i = 0; i < n; i++) {
    snprintf(c, sizeof c, "%zu", i);
    snprintf(r, sizeof r, "%zu", i % 3 ? i : i + 1);
    switch (i % 50) {
    case 7: batch_add(b, "loop", "pcall", NULL); break;
    case 13: batch_add(b, "runtime_error", c, NULL); break;
    case 21: batch_add(b, "echo", c, "ref"); break;
    case 33: batch_add(b, "memory", "rep", NULL); break;
    default: batch_add(b, "exact", c, r); break;
    }
  }
}

static void test_in_order_and_same_as_inline(void) {
  batch b = {0};
  mixed_batch(&b, 1000);
  rlvr_verify_pool *inl = make_pool(0, 5000);
  rlvr_verify_pool *par = make_pool(2, 5000);
  rlvr_verify_result *want = score(inl, &b);
  rlvr_verify_result *got = score(par, &b);
  size_t bad = 0, ok1 = 0;
  for (size_t i = 0; i < b.n; i++) {
    int same = got[i].status == want[i].status && got[i].score == want[i].score &&
               !strcmp(got[i].version, want[i].version);
    /* Error details carry tracebacks that are the same; compare all. */
    same = same && !strcmp(got[i].details, want[i].details);
    if (!same && bad++ < 5)
      fprintf(stderr, "item %zu: pool %s %g %s, inline %s %g %s\n", i, rlvr_verify_status_name(got[i].status),
              got[i].score, got[i].details, rlvr_verify_status_name(want[i].status), want[i].score, want[i].details);
    if (!strcmp(b.items[i].verifier, "exact")) {
      double expect = i % 3 ? 1 : 0;
      CHECK_MSG(got[i].status == RLVR_VERIFY_OK && got[i].score == expect, "item %zu: score %g want %g", i,
                got[i].score, expect);
      ok1 += got[i].score == 1;
    }
  }
  printf("ok   pool vs inline: %zu of %zu results differ; %zu exact matches\n", bad, b.n, ok1);
  CHECK(bad == 0);
  CHECK(got[7].status == RLVR_VERIFY_TIMEOUT && got[13].status == RLVR_VERIFY_VERIFIER_ERROR &&
        got[33].status == RLVR_VERIFY_SANDBOX_ERROR && got[21].status == RLVR_VERIFY_OK);
  rlvr_pool_stats st;
  rlvr_pool_get_stats(par, &st);
  printf("     stats: %lld items, %lld chunks, %lld workers started, %lld died, %lld killed\n", (long long)st.items,
         (long long)st.chunks, (long long)st.workers_started, (long long)st.workers_died, (long long)st.workers_killed);
  CHECK(st.workers_started == 2 && st.workers_died == 0 && st.workers_killed == 0 && st.chunks > 2);
  rlvr_verify_results_clear(want, b.n);
  rlvr_verify_results_clear(got, b.n);
  free(want);
  free(got);
  rlvr_pool_free(inl);
  rlvr_pool_free(par);
  batch_free(&b);
}

static void test_stuck_worker(void) {
  rlvr_verify_pool *p = make_pool(2, 1000);
  batch b = {0};
  for (int i = 0; i < 40; i++) {
    if (i == 5 || i == 30) batch_add(&b, "test_helpers", "sleep 100000", NULL);
    else batch_add(&b, "test_helpers", "one", NULL);
  }
  int64_t t0 = rlvr_verify_now_ns();
  rlvr_verify_result *r = score(p, &b);
  double secs = (double)(rlvr_verify_now_ns() - t0) / 1e9;
  char err[512];
  for (int i = 0; i < 40; i++) {
    if (i == 5 || i == 30) {
      CHECK_MSG(r[i].status == RLVR_VERIFY_TIMEOUT && r[i].score == 0, "item %d: %s", i,
                rlvr_verify_status_name(r[i].status));
      CHECK(strstr(test_error_of(&r[i], err, sizeof err), "wall-clock deadline of 1000 ms"));
    } else {
      CHECK_MSG(r[i].status == RLVR_VERIFY_OK && r[i].score == 1, "item %d: %s %s", i,
                rlvr_verify_status_name(r[i].status), r[i].details);
    }
  }
  rlvr_pool_stats st;
  rlvr_pool_get_stats(p, &st);
  printf("ok   stuck workers: batch took %.2f s, %lld killed, %lld requeued\n", secs, (long long)st.workers_killed,
         (long long)st.requeued);
  CHECK(st.workers_killed == 2);
  CHECK(secs < 30);
  rlvr_verify_results_clear(r, b.n);
  free(r);
  /* The pool keeps serving. */
  batch b2 = {0};
  batch_add(&b2, "exact", "a", "a");
  batch_add(&b2, "exact", "b", "a");
  r = score(p, &b2);
  CHECK(r[0].status == RLVR_VERIFY_OK && r[0].score == 1 && r[1].status == RLVR_VERIFY_OK && r[1].score == 0);
  rlvr_verify_results_clear(r, b2.n);
  free(r);
  batch_free(&b);
  batch_free(&b2);
  rlvr_pool_free(p);
}

static void test_crash(void) {
  rlvr_verify_pool *p = make_pool(2, 5000);
  batch b = {0};
  for (int i = 0; i < 300; i++) batch_add(&b, "test_helpers", i == 150 ? "crash" : "one", NULL);
  rlvr_verify_result *r = score(p, &b);
  char err[512];
  size_t good = 0;
  for (int i = 0; i < 300; i++) good += i != 150 && r[i].status == RLVR_VERIFY_OK && r[i].score == 1;
  CHECK(good == 299);
  test_error_of(&r[150], err, sizeof err);
  printf("ok   crash: item 150 -> %s: %s\n", rlvr_verify_status_name(r[150].status), err);
  CHECK(r[150].status == RLVR_VERIFY_SANDBOX_ERROR && r[150].score == 0);
  CHECK(strstr(err, "the verifier worker died of signal") || strstr(err, "the verifier worker exited with status"));
  rlvr_pool_stats st;
  rlvr_pool_get_stats(p, &st);
  /* The replacement starts when there is work for it: maybe in this batch,
   * maybe in the next. */
  CHECK_MSG(st.workers_died == 1 && st.workers_started >= 2, "%lld died, %lld started, %lld killed, %lld requeued",
            (long long)st.workers_died, (long long)st.workers_started, (long long)st.workers_killed,
            (long long)st.requeued);
  rlvr_verify_results_clear(r, b.n);
  free(r);
  batch_free(&b);
  /* A clean batch: both workers run again. */
  for (int i = 0; i < 300; i++) batch_add(&b, "test_helpers", "one", NULL);
  r = score(p, &b);
  rlvr_pool_get_stats(p, &st);
  CHECK(st.workers_died == 1 && st.workers_started == 3 && r[150].status == RLVR_VERIFY_OK);
  CHECK(rlvr_pool_worker_pid(p, 0) > 0 && rlvr_pool_worker_pid(p, 1) > 0);
  rlvr_verify_results_clear(r, b.n);
  free(r);
  batch_free(&b);
  rlvr_pool_free(p);
}

typedef struct {
  rlvr_verify_pool *p;
  pid_t killed[2];
} killer_arg;

/* Kills both workers while they sleep in their first items. */
static void *killer(void *vp) {
  killer_arg *a = vp;
  usleep(300 * 1000);
  for (int i = 0; i < 2; i++) {
    a->killed[i] = rlvr_pool_worker_pid(a->p, i);
    if (a->killed[i] > 0) kill(a->killed[i], SIGKILL);
  }
  return NULL;
}

static void test_killed_from_outside(void) {
  rlvr_verify_pool *p = make_pool(2, 10000);
  batch b = {0};
  /* Four sleepers first: whatever the chunking, both workers are asleep in
   * one of them when the killer comes. */
  for (int i = 0; i < 20; i++) batch_add(&b, "test_helpers", i < 4 ? "sleep 1000" : "one", NULL);
  killer_arg a = {p, {0, 0}};
  pthread_t th;
  pthread_create(&th, NULL, killer, &a);
  rlvr_verify_result *r = score(p, &b);
  pthread_join(th, NULL);
  char err[512];
  int killed = 0;
  for (int i = 0; i < 4; i++) {
    test_error_of(&r[i], err, sizeof err);
    printf("     sleeper %d -> %s: %s\n", i, rlvr_verify_status_name(r[i].status), err);
    if (r[i].status == RLVR_VERIFY_SANDBOX_ERROR && strstr(err, "signal 9")) killed++;
    else CHECK(r[i].status == RLVR_VERIFY_OK && r[i].score == 0);
  }
  printf("ok   killed workers %d and %d: %d items lost\n", (int)a.killed[0], (int)a.killed[1], killed);
  CHECK(killed == 2);
  for (int i = 4; i < 20; i++) CHECK(r[i].status == RLVR_VERIFY_OK && r[i].score == 1);
  rlvr_verify_results_clear(r, b.n);
  free(r);

  /* Killed while idle: the next batch notices and is scored in full. */
  pid_t pid = rlvr_pool_worker_pid(p, 0);
  CHECK(pid > 0);
  kill(pid, SIGKILL);
  usleep(50 * 1000);
  batch b2 = {0};
  for (int i = 0; i < 100; i++) batch_add(&b2, "exact", "x", "x");
  r = score(p, &b2);
  size_t good = 0;
  for (int i = 0; i < 100; i++) good += r[i].status == RLVR_VERIFY_OK && r[i].score == 1;
  CHECK_MSG(good == 100, "%zu of 100 scored after an idle worker was killed; first: %s %s", good,
            rlvr_verify_status_name(r[0].status), r[0].details);
  CHECK(rlvr_pool_worker_pid(p, 0) != pid);
  rlvr_verify_results_clear(r, b2.n);
  free(r);
  batch_free(&b);
  batch_free(&b2);
  rlvr_pool_free(p);
}

static void test_address_space_limit(void) {
#ifdef TEST_ASAN
  printf("skip address space limit: AddressSanitizer build (RLIMIT_AS is not set there)\n");
#else
  rlvr_verify_pool *p = make_pool(1, 5000);
  batch b = {0};
  batch_add(&b, "test_helpers", "malloc 8000000000", NULL); /* 8 GB, far past the limit */
  batch_add(&b, "test_helpers", "malloc 1000000", NULL);
  rlvr_verify_result *r = score(p, &b);
  printf("ok   address space: %s / %s\n", r[0].details, r[1].details);
  CHECK(r[0].status == RLVR_VERIFY_OK && strstr(r[0].details, "\"malloc\":false"));
  CHECK(r[1].status == RLVR_VERIFY_OK && strstr(r[1].details, "\"malloc\":true"));
  rlvr_verify_results_clear(r, b.n);
  free(r);
  batch_free(&b);
  rlvr_pool_free(p);
#endif
}

static void test_precheck_and_empty(void) {
  rlvr_verify_pool *p = make_pool(2, 5000);
  rlvr_pool_score(p, NULL, 0, NULL); /* nothing to do */
  size_t big = (1u << 20) + 1;
  char *s = malloc(big + 1);
  memset(s, 'y', big);
  s[big] = 0;
  batch b = {0};
  batch_add(&b, "exact", s, "y");
  batch_add(&b, "exact", "y", "y");
  batch_add(&b, "", "y", "y");
  char *long_name = malloc(RLVR_VERIFY_NAME_MAX + 2);
  memset(long_name, 'a', RLVR_VERIFY_NAME_MAX + 1);
  long_name[RLVR_VERIFY_NAME_MAX + 1] = 0;
  batch_add(&b, long_name, "y", "y"); /* the batch borrows the name */
  rlvr_verify_result *r = score(p, &b);
  free(long_name);
  CHECK(r[0].status == RLVR_VERIFY_WRONG_FORMAT && r[0].score == 0);
  CHECK(r[1].status == RLVR_VERIFY_OK && r[1].score == 1 && !strcmp(r[1].version, "1.0"));
  CHECK(r[2].status == RLVR_VERIFY_INPUT_ERROR);
  CHECK(r[3].status == RLVR_VERIFY_INPUT_ERROR);
  rlvr_pool_stats st;
  rlvr_pool_get_stats(p, &st);
  CHECK(st.workers_died == 0);
  rlvr_verify_results_clear(r, b.n);
  free(r);
  free(s);
  batch_free(&b);
  rlvr_pool_free(p);
}

static void test_throughput(void) {
  rlvr_verify_pool *p = make_pool(2, 5000);
  batch b = {0};
  char c[32];
  for (int i = 0; i < 20000; i++) {
    snprintf(c, sizeof c, "%d", i);
    batch_add(&b, "exact", c, c);
  }
  int64_t t0 = rlvr_verify_now_ns();
  rlvr_verify_result *r = score(p, &b);
  double secs = (double)(rlvr_verify_now_ns() - t0) / 1e9;
  size_t good = 0;
  for (size_t i = 0; i < b.n; i++) good += r[i].status == RLVR_VERIFY_OK && r[i].score == 1;
  printf("ok   throughput (sanity only; bench/ measures): %zu items in %.3f s = %.0f items/s with 2 workers\n", b.n,
         secs, (double)b.n / secs);
  CHECK(good == b.n);
  rlvr_verify_results_clear(r, b.n);
  free(r);
  batch_free(&b);
  rlvr_pool_free(p);
}

int main(void) {
  test_in_order_and_same_as_inline();
  test_precheck_and_empty();
  test_stuck_worker();
  test_crash();
  test_killed_from_outside();
  test_address_space_limit();
  test_throughput();
  return test_done();
}
