/* test_compare.c — rlvr compare on the hand-made runs in
 * tests/experiments/fixtures/compare (see its README.md): which config keys
 * tell the runs apart, the groups, final/best means and sample standard
 * deviations worked out by hand from the fixture values, the markdown and
 * CSV tables, nulls (maj@G with no labelled group, kl without a reference)
 * counted as no value and drawn as gaps, never as 0, the held-out accuracy
 * before / after / gain from summary.json, a figure's points against the
 * geometry compare_html.c documents, and the errors for bad inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "experiments/compare.h"
#include "testing.h"

#define FIX "tests/experiments/fixtures/compare"

static double maxdiff = 0;

static void check_stat(const rlvr_compare *c, int g, int m, int best, double mean, double std, int n) {
  double gm, gs;
  int gn;
  rlvr_compare_stat(c, g, m, best, &gm, &gs, &gn);
  double d = isnan(mean) && isnan(gm) ? 0 : fabs(gm - mean);
  if (isnan(std)) {
    CHECK_MSG(isnan(gs), "group %d metric %s: std %g, want none", g, c->metrics[m].name, gs);
  } else {
    d = fmax(d, fabs(gs - std));
  }
  if (d > maxdiff) maxdiff = d;
  CHECK_MSG(d < 1e-12 && gn == n, "group %d metric %s %s: mean %.17g std %.17g n %d; want %.17g %.17g %d", g,
            c->metrics[m].name, best ? "best" : "final", gm, gs, gn, mean, std, n);
}

static char *capture(const rlvr_compare *c, int csv, int per_run) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (csv) rlvr_compare_print_csv(c, f, per_run);
  else rlvr_compare_print_markdown(c, f, per_run);
  fclose(f);
  return buf;
}

static void test_groups_and_stats(void) {
  const char *paths[] = {FIX "/runs"};
  const char *metrics[] = {"reward", "loss", "summary:eval.grpo.accuracy", "timing.step_s", "accuracy:min"};
  rlvr_compare *c = NULL;
  int rc = rlvr_compare_load(&c, paths, 1, metrics, 5, NULL);
  CHECK_MSG(rc == RLVR_OK, "load: %s", rlvr_error_message());
  if (!c) return;
  /* Runs in name order; the keys that differ: loss.aggregation and
   * optim.lr (run.dir and run.seed never count; model.path holds each
   * run's own directory). */
  CHECK(c->nruns == 4);
  CHECK(c->nruns == 4 && !strcmp(c->runs[0].label, "dapo-s1") && !strcmp(c->runs[3].label, "grpo-s2"));
  CHECK_MSG(c->ndiff == 2, "%d differing keys", c->ndiff);
  CHECK(c->ndiff == 2 && !strcmp(c->diff_keys[0], "loss.aggregation") && !strcmp(c->diff_keys[1], "optim.lr"));
  CHECK(c->ngroups == 2);
  CHECK(c->ngroups == 2 && c->groups[0].nruns == 2 && c->groups[1].nruns == 2);
  CHECK(c->ngroups == 2 && !strcmp(c->groups[0].label, "loss.aggregation=dapo, optim.lr=2e-06"));
  CHECK(c->runs[1].seed == 2 && c->runs[2].seed == 1);
  CHECK(c->nmetrics == 5 && c->metrics[1].minimize && !c->metrics[0].minimize && c->metrics[4].minimize &&
        c->metrics[2].from_summary);
  CHECK(c->runs[0].last_step == 3);
  /* kl has nulls; timing.step_s is nested: 3 values each. */
  CHECK(c->runs[0].series[3].n == 3);

  const double s2 = sqrt(2.0); /* std of {a, a + d} is |d| / sqrt(2) */
  /* dapo: reward finals 0.65, 0.8; bests 0.7, 0.9. */
  check_stat(c, 0, 0, 0, 0.725, 0.15 / s2, 2);
  check_stat(c, 0, 0, 1, 0.8, 0.2 / s2, 2);
  /* loss (minimised): finals 0.35, 0.25; bests 0.3, 0.2. */
  check_stat(c, 0, 1, 0, 0.3, 0.1 / s2, 2);
  check_stat(c, 0, 1, 1, 0.25, 0.1 / s2, 2);
  /* summary eval.grpo.accuracy: 0.6, 0.7. */
  check_stat(c, 0, 2, 0, 0.65, 0.1 / s2, 2);
  /* grpo: reward finals 0.3, 0.5; bests 0.5, 0.5. */
  check_stat(c, 1, 0, 0, 0.4, 0.2 / s2, 2);
  check_stat(c, 1, 0, 1, 0.5, 0.0, 2);
  /* loss finals 0.7, 0.5; bests 0.6, 0.5. */
  check_stat(c, 1, 1, 0, 0.6, 0.2 / s2, 2);
  check_stat(c, 1, 1, 1, 0.55, 0.1 / s2, 2);
  check_stat(c, 1, 2, 0, 0.4, 0.2 / s2, 2);
  /* timing.step_s finals 3.0, 2.0. */
  check_stat(c, 1, 3, 0, 2.5, 1.0 / s2, 2);
  /* accuracy:min: bests (smallest) 0.0, 0.0; dapo 0.5, 0.5. */
  check_stat(c, 1, 4, 1, 0.0, 0.0, 2);
  check_stat(c, 0, 4, 1, 0.5, 0.0, 2);
  printf("ok   group statistics: max |diff| %.3g\n", maxdiff);

  char *md = capture(c, 0, 0);
  const char *want_header = "| loss.aggregation | optim.lr | runs | steps | reward final | reward best | loss final | "
                            "loss best (min) | eval.grpo.accuracy | timing.step_s final | timing.step_s best | "
                            "accuracy final | accuracy best (min) |\n";
  CHECK_MSG(!strncmp(md, want_header, strlen(want_header)), "markdown header:\n%s", md);
  const char *want_row = "| dapo | 2e-06 | 2 | 3 | 0.725 ± 0.1061 | 0.8 ± 0.1414 | 0.3 ± 0.07071 | 0.25 ± 0.07071 | "
                         "0.65 ± 0.07071 | 1 ± 0 | 1 ± 0 | 0.75 ± 0 | 0.5 ± 0 |\n";
  CHECK_MSG(strstr(md, want_row) != NULL, "markdown lacks\n%s in\n%s", want_row, md);
  free(md);
  char *csv = capture(c, 1, 1);
  const char *want_csv_head = "run,loss.aggregation,optim.lr,seed,steps,reward_final,reward_best,loss_final,loss_best,"
                              "summary:eval.grpo.accuracy,timing.step_s_final,timing.step_s_best,accuracy_final,"
                              "accuracy_best\n";
  CHECK_MSG(!strncmp(csv, want_csv_head, strlen(want_csv_head)), "csv header:\n%s", csv);
  CHECK_MSG(strstr(csv, "\ngrpo-s1,grpo,1e-06,1,3,0.3,0.5,0.7,0.6,0.3,3,3,0.25,0\n") != NULL, "csv rows:\n%s", csv);
  free(csv);
  csv = capture(c, 1, 0);
  CHECK_MSG(strstr(csv, "\ngrpo,1e-06,2,3,0.4,0.1414213562,0.5,0,") != NULL, "csv groups:\n%s", csv);
  free(csv);
  rlvr_compare_free(c);
}

/* maj@G and pass@G with nulls (a step without a labelled group), kl with
 * nulls, and the held-out accuracy. Fixture values (null = -):
 *   maj_at_g   dapo-s1 0.5 - 0.75   dapo-s2 0.25 0.5 -   grpo-s1 - - -   grpo-s2 0 0.25 0.5
 *   pass_at_g  dapo-s1 0.75 - 1     dapo-s2 0.5 1 -      grpo-s1 - - -   grpo-s2 0.25 0.5 0.5
 *   kl         dapo-s1 - 0.01 0.01  dapo-s2 - - 0.02
 *   held-out before (eval.sft, grpo-s2: eval.initial) 0.2 0.2 0.2 0.1,
 *            after (eval.grpo)                       0.6 0.7 0.3 0.5. */
static void test_nulls_and_heldout(void) {
  const char *paths[] = {FIX "/runs"};
  const char *metrics[] = {"maj_at_g", "pass_at_g", "kl", "heldout"};
  rlvr_compare *c = NULL;
  int rc = rlvr_compare_load(&c, paths, 1, metrics, 4, NULL);
  CHECK_MSG(rc == RLVR_OK, "load: %s", rlvr_error_message());
  if (!c) return;
  CHECK_MSG(c->nmetrics == 6, "%d metrics", c->nmetrics);
  if (c->nmetrics != 6 || c->ngroups != 2) {
    rlvr_compare_free(c);
    return;
  }
  CHECK(!strcmp(c->metrics[3].name, "heldout_before") && c->metrics[3].heldout == RLVR_COMPARE_HELDOUT_BEFORE &&
        c->metrics[4].heldout == RLVR_COMPARE_HELDOUT_AFTER && c->metrics[5].heldout == RLVR_COMPARE_HELDOUT_GAIN &&
        !strcmp(c->metrics[5].name, "heldout_gain_points") && c->metrics[2].minimize && !c->metrics[0].minimize);
  /* A null is a point without a value, kept for the gap. */
  CHECK(c->runs[0].series[0].n == 3 && isnan(c->runs[0].series[0].value[1]) && c->runs[0].series[0].step[1] == 2);
  const double s2 = sqrt(2.0);
  double before = maxdiff;
  maxdiff = 0;
  /* dapo maj@G: finals (last non-null) 0.75, 0.5 (dapo-s2's step 3 is
   * null; read as 0 it would give 0.375); bests 0.75, 0.5. */
  check_stat(c, 0, 0, 0, 0.625, 0.25 / s2, 2);
  check_stat(c, 0, 0, 1, 0.625, 0.25 / s2, 2);
  /* dapo pass@G: finals 1, 1; bests 1, 1. */
  check_stat(c, 0, 1, 0, 1.0, 0.0, 2);
  check_stat(c, 0, 1, 1, 1.0, 0.0, 2);
  /* grpo: grpo-s1 has no value at all, so one run counts: 0.5, no std. */
  check_stat(c, 1, 0, 0, 0.5, NAN, 1);
  check_stat(c, 1, 0, 1, 0.5, NAN, 1);
  check_stat(c, 1, 1, 0, 0.5, NAN, 1);
  check_stat(c, 1, 1, 1, 0.5, NAN, 1);
  /* kl (minimised): dapo finals 0.01, 0.02, bests (smallest non-null) 0.01,
   * 0.02 (a null read as 0 would make both bests 0); grpo (null, 0.01, 0.02
   * and null, 0.01, 0.03) finals 0.02, 0.03, bests 0.01, 0.01. */
  check_stat(c, 0, 2, 1, 0.015, 0.01 / s2, 2);
  check_stat(c, 1, 2, 0, 0.025, 0.01 / s2, 2);
  check_stat(c, 1, 2, 1, 0.01, 0.0, 2);
  /* held-out: dapo before 0.2, 0.2; after 0.6, 0.7; gains 40, 50 points. */
  check_stat(c, 0, 3, 0, 0.2, 0.0, 2);
  check_stat(c, 0, 4, 0, 0.65, 0.1 / s2, 2);
  check_stat(c, 0, 5, 0, 45.0, 10.0 / s2, 2);
  /* grpo before 0.2 (sft), 0.1 (initial); after 0.3, 0.5; gains 10, 40. */
  check_stat(c, 1, 3, 0, 0.15, 0.1 / s2, 2);
  check_stat(c, 1, 4, 0, 0.4, 0.2 / s2, 2);
  check_stat(c, 1, 5, 0, 25.0, 30.0 / s2, 2);
  printf("ok   maj@G, pass@G, kl with nulls, held-out: max |diff| %.3g\n", maxdiff);
  if (before > maxdiff) maxdiff = before;

  char *md = capture(c, 0, 0);
  const char *want_header = "| loss.aggregation | optim.lr | runs | steps | maj_at_g final | maj_at_g best | "
                            "pass_at_g final | pass_at_g best | kl final | kl best (min) | held-out before | "
                            "held-out after | held-out gain (points) |\n";
  CHECK_MSG(!strncmp(md, want_header, strlen(want_header)), "markdown header:\n%s", md);
  const char *want_dapo = "| dapo | 2e-06 | 2 | 3 | 0.625 ± 0.1768 | 0.625 ± 0.1768 | 1 ± 0 | 1 ± 0 | 0.015 ± 0.007071 | "
                          "0.015 ± 0.007071 | 0.2 ± 0 | 0.65 ± 0.07071 | 45 ± 7.071 |\n";
  const char *want_grpo = "| grpo | 1e-06 | 2 | 3 | 0.5 | 0.5 | 0.5 | 0.5 | 0.025 ± 0.007071 | 0.01 ± 0 | "
                          "0.15 ± 0.07071 | 0.4 ± 0.1414 | 25 ± 21.21 |\n";
  CHECK_MSG(strstr(md, want_dapo) != NULL, "markdown lacks\n%s in\n%s", want_dapo, md);
  CHECK_MSG(strstr(md, want_grpo) != NULL, "markdown lacks\n%s in\n%s", want_grpo, md);
  free(md);
  /* Per run: grpo-s1's maj@G and pass@G are empty, not 0. */
  char *csv = capture(c, 1, 1);
  const char *want_head = "run,loss.aggregation,optim.lr,seed,steps,maj_at_g_final,maj_at_g_best,pass_at_g_final,"
                          "pass_at_g_best,kl_final,kl_best,heldout_before,heldout_after,heldout_gain_points\n";
  CHECK_MSG(!strncmp(csv, want_head, strlen(want_head)), "csv header:\n%s", csv);
  CHECK_MSG(strstr(csv, "\ngrpo-s1,grpo,1e-06,1,3,,,,,0.02,0.01,0.2,0.3,10\n") != NULL, "csv rows:\n%s", csv);
  CHECK_MSG(strstr(csv, "\ndapo-s2,dapo,2e-06,2,3,0.5,0.5,1,1,0.02,0.02,0.2,0.7,50\n") != NULL, "csv rows:\n%s", csv);
  free(csv);
  csv = capture(c, 1, 0);
  CHECK_MSG(strstr(csv, "maj_at_g_final_mean,maj_at_g_final_std,") && strstr(csv, ",heldout_gain_points_mean,heldout_gain_points_std\n"),
            "csv group header:\n%s", csv);
  CHECK_MSG(strstr(csv, "\ngrpo,1e-06,2,3,0.5,,0.5,,0.5,,0.5,,") != NULL, "csv groups:\n%s", csv);
  free(csv);
  rlvr_compare_free(c);
}

static void test_defaults_and_noconf(void) {
  /* Default metrics: those of reward, accuracy, maj_at_g, pass_at_g,
   * consensus_majority_correct that some run has a value of (here
   * consensus_majority_correct is null on every line: left out), then the
   * held-out accuracy before, after and the gain. A run without a config is
   * a group of its own; without "step", lines count from 1. */
  const char *paths[] = {FIX "/runs/grpo-s1", FIX "/runs/grpo-s2", FIX "/noconf"};
  rlvr_compare *c = NULL;
  int rc = rlvr_compare_load(&c, paths, 3, NULL, 0, NULL);
  CHECK_MSG(rc == RLVR_OK, "load: %s", rlvr_error_message());
  if (!c) return;
  CHECK_MSG(c->nmetrics == 7, "%d metrics", c->nmetrics);
  if (c->nmetrics == 7) {
    CHECK(!strcmp(c->metrics[0].name, "reward") && !strcmp(c->metrics[1].name, "accuracy"));
    CHECK(!strcmp(c->metrics[2].name, "maj_at_g") && !strcmp(c->metrics[3].name, "pass_at_g"));
    CHECK(c->metrics[4].heldout == RLVR_COMPARE_HELDOUT_BEFORE && c->metrics[5].heldout == RLVR_COMPARE_HELDOUT_AFTER &&
          c->metrics[6].heldout == RLVR_COMPARE_HELDOUT_GAIN && c->metrics[6].from_summary);
    /* noconf has no summary.json: no held-out values, not zeros. */
    check_stat(c, 1, 6, 0, NAN, NAN, 0);
  }
  CHECK(c->ngroups == 2);
  CHECK(c->ndiff == 0); /* the two configs differ only in run.seed (and their own paths) */
  CHECK(c->ngroups == 2 && !strcmp(c->groups[0].label, "all runs") && !strcmp(c->groups[1].label, "noconf"));
  CHECK(c->runs[2].series[0].n == 2 && c->runs[2].series[0].step[1] == 2 && c->runs[2].last_step == 2);
  check_stat(c, 1, 0, 0, 1.0, NAN, 1);
  rlvr_compare_free(c);
}

static void test_svg(void) {
  /* One run, reward 0.1, 0.5, 0.3 at steps 1..3. Ticks: x every 0.5 over
   * [1, 3], y every 0.1 over [0.1, 0.5]; plot area x 64..704 (640 px),
   * y 320 (value 0.1) up to 28 (value 0.5): 292 px. */
  const char *paths[] = {FIX "/runs/grpo-s1"};
  const char *metrics[] = {"reward"};
  rlvr_compare *c = NULL;
  CHECK(rlvr_compare_load(&c, paths, 1, metrics, 1, NULL) == RLVR_OK);
  if (!c) return;
  char *svg = rlvr_compare_svg(c, 0);
  CHECK_MSG(strstr(svg, "points=\"64.0,320.0 384.0,28.0 704.0,174.0\"") != NULL, "svg:\n%s", svg);
  CHECK(strstr(svg, "<title>grpo-s1</title>") != NULL);
  CHECK(strstr(svg, ">0.3</text>") != NULL && strstr(svg, ">2.5</text>") != NULL);
  free(svg);
  /* Trailing means over 2: 0.1, 0.3, 0.4; y ticks every 0.05 over
   * [0.1, 0.4]: 0.3 sits at 320 - 292 * 2/3 = 125.3. */
  c->smooth = 2;
  svg = rlvr_compare_svg(c, 0);
  CHECK_MSG(strstr(svg, "points=\"64.0,320.0 384.0,125.3 704.0,28.0\"") != NULL, "smoothed svg:\n%s", svg);
  free(svg);
  rlvr_compare_free(c);
  c = NULL;

  /* dapo-s1's maj@G is 0.5, null, 0.75 at steps 1..3: two lone points,
   * dots, and nothing at 0. y ticks every 0.05 over [0.5, 0.75]. */
  const char *one[] = {FIX "/runs/dapo-s1"};
  const char *maj[] = {"maj_at_g"};
  CHECK(rlvr_compare_load(&c, one, 1, maj, 1, NULL) == RLVR_OK);
  if (!c) return;
  svg = rlvr_compare_svg(c, 0);
  CHECK_MSG(strstr(svg, "cx=\"64.0\" cy=\"320.0\"") && strstr(svg, "cx=\"704.0\" cy=\"28.0\"") && !strstr(svg, "<polyline"),
            "svg with a null between two points:\n%s", svg);
  free(svg);
  rlvr_compare_free(c);
  c = NULL;

  /* gaps/: maj@G 0.2, 0.4, null, 0.6, 0.8, null at steps 1..6. The x axis
   * spans the steps with a value, [1, 5], one tick per step (160 px); y
   * ticks every 0.1 over [0.2, 0.8] (292 px): 0.4 at 320 - 292/3 = 222.7,
   * 0.6 at 125.3. Two polylines; the final value is 0.8, not the null. */
  const char *gaps[] = {FIX "/gaps"};
  CHECK(rlvr_compare_load(&c, gaps, 1, maj, 1, NULL) == RLVR_OK);
  if (!c) return;
  svg = rlvr_compare_svg(c, 0);
  CHECK_MSG(strstr(svg, "points=\"64.0,320.0 224.0,222.7\"") && strstr(svg, "points=\"544.0,125.3 704.0,28.0\""),
            "svg with a gap:\n%s", svg);
  free(svg);
  check_stat(c, 0, 0, 0, 0.8, NAN, 1);
  CHECK(c->runs[0].last_step == 6);
  /* Trailing means over 2 of the non-null values: 0.2, 0.3, -, 0.6, 0.7;
   * y over [0.2, 0.7] (ticks 0.1): 0.3 at 320 - 292/5 = 261.6, 0.6 at 86.4. */
  c->smooth = 2;
  svg = rlvr_compare_svg(c, 0);
  CHECK_MSG(strstr(svg, "points=\"64.0,320.0 224.0,261.6\"") && strstr(svg, "points=\"544.0,86.4 704.0,28.0\""),
            "smoothed svg with a gap:\n%s", svg);
  free(svg);
  rlvr_compare_free(c);
}

static void test_errors(void) {
  rlvr_compare *c = NULL;
  const char *bad[] = {FIX "/bad"};
  CHECK(rlvr_compare_load(&c, bad, 1, NULL, 0, NULL) == RLVR_ERR_FORMAT && c == NULL);
  CHECK_MSG(strstr(rlvr_error_message(), "bad/metrics.jsonl:2") != NULL, "%s", rlvr_error_message());
  const char *partial[] = {FIX "/partial"};
  CHECK(rlvr_compare_load(&c, partial, 1, NULL, 0, NULL) == RLVR_OK);
  if (c) {
    CHECK_MSG(c->runs[0].series[0].n == 2, "partial: %d values", c->runs[0].series[0].n);
    rlvr_compare_free(c);
    c = NULL;
  }
  const char *runs[] = {FIX "/runs"};
  const char *typo[] = {"rewrd"};
  CHECK(rlvr_compare_load(&c, runs, 1, typo, 1, NULL) == RLVR_ERR_ARG && c == NULL);
  CHECK_MSG(strstr(rlvr_error_message(), "'rewrd'") && strstr(rlvr_error_message(), "timing.step_s"), "%s",
            rlvr_error_message());
  const char *stypo[] = {"summary:eval.grpo.acc"};
  CHECK(rlvr_compare_load(&c, runs, 1, stypo, 1, NULL) == RLVR_ERR_ARG);
  CHECK_MSG(strstr(rlvr_error_message(), "summary.json") && strstr(rlvr_error_message(), "eval.grpo.accuracy"), "%s",
            rlvr_error_message());
  const char *none[] = {FIX "/no-such-dir"};
  CHECK(rlvr_compare_load(&c, none, 1, NULL, 0, NULL) == RLVR_ERR_IO && c == NULL);
  const char *empty[] = {"tests/experiments"};
  CHECK(rlvr_compare_load(&c, empty, 1, NULL, 0, NULL) == RLVR_ERR_IO && c == NULL);
}

int main(void) {
  test_groups_and_stats();
  test_nulls_and_heldout();
  test_defaults_and_noconf();
  test_svg();
  test_errors();
  return test_done();
}
