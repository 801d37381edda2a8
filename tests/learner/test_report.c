/* test_report.c — the HTML run report (learner/report.h) on the hand-written
 * runs of tests/learner/fixtures/report (see its README.md): the figure of
 * accuracy, maj@G and pass@G with its points worked out by hand from the
 * geometry report.c documents (a null is a gap, a lone point a dot, never
 * a 0), the consensus figure only when there are consensus values, the
 * held-out accuracy before and after GRPO and the gain in the summary
 * table, and the errors for bad inputs.
 *
 * Geometry (report.c): plot area x 64..544 (480 px), y 34..256 (222 px);
 * a [0, 1] plot puts y at 256 - 222 y: 0.25 -> 200.5, 0.5 -> 145.0,
 * 0.75 -> 89.5, 1 -> 34.0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "learner/report.h"
#include "testing.h"

#define FIX "tests/learner/fixtures/report"

static char tmpdir[] = "/tmp/rlvr_test_report_XXXXXX";

/* The report of FIX/name, written under tmpdir; NULL on failure. */
static char *report_of(const char *name) {
  char dir[256], out[256];
  snprintf(dir, sizeof dir, FIX "/%s", name);
  snprintf(out, sizeof out, "%s/%s.html", tmpdir, name);
  int rc = rlvr_report_write(dir, out);
  CHECK_MSG(rc == RLVR_OK, "report of %s: %s", name, rlvr_error_message());
  if (rc) return NULL;
  char *text = NULL;
  size_t len;
  CHECK(rlvr_file_read(out, &text, &len) == RLVR_OK);
  unlink(out);
  return text;
}

/* The <figure> whose title is title, as a new string ("" if none). */
static char *figure(const char *html, const char *title) {
  char key[256];
  snprintf(key, sizeof key, "font-weight=\"bold\">%s</text>", title);
  const char *t = strstr(html, key);
  if (!t) return calloc(1, 1);
  const char *start = t;
  while (start > html && strncmp(start, "<figure>", 8)) start--;
  const char *end = strstr(t, "</figure>");
  size_t n = end ? (size_t)(end - start) : strlen(start);
  char *f = malloc(n + 1);
  memcpy(f, start, n);
  f[n] = '\0';
  return f;
}

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)); p++) n++;
  return n;
}

static void test_labelled(void) {
  char *html = report_of("labelled");
  if (!html) return;
  /* Steps 1..6: x at 64 + 96 (step - 1). accuracy 0.25 0.5 0.5 0.75 0.75
   * 0.75; maj@G 0.5 - 0.25 0.75 1 -; pass@G 0.75 - 1 1 1 - (- is null). */
  char *f = figure(html, "Accuracy, maj@G and pass@G");
  CHECK_MSG(f[0] != 0, "no maj@G figure");
  const char *want[] = {
      "points=\"64.0,200.5 160.0,145.0 256.0,145.0 352.0,89.5 448.0,89.5 544.0,89.5 \"", /* accuracy */
      "points=\"256.0,200.5 352.0,89.5 448.0,34.0 \"",                                   /* maj@G, steps 3..5 */
      "points=\"256.0,34.0 352.0,34.0 448.0,34.0 \"",                                    /* pass@G, steps 3..5 */
      "<circle cx=\"64.0\" cy=\"145.0\"",                                                /* maj@G, step 1 alone */
      "<circle cx=\"64.0\" cy=\"89.5\"",                                                 /* pass@G, step 1 alone */
      ">0.0</text>", ">1.0</text>",                                                      /* the fixed [0, 1] axis */
  };
  for (size_t k = 0; k < sizeof want / sizeof *want; k++) CHECK_MSG(strstr(f, want[k]) != NULL, "figure lacks %s:\n%s", want[k], f);
  /* Nothing else: the nulls of steps 2 and 6 are no points at all. */
  CHECK_MSG(count(f, "<polyline") == 3 && count(f, "<circle") == 2, "%d polylines, %d dots", count(f, "<polyline"),
            count(f, "<circle"));
  free(f);
  f = figure(html, "Consensus groups against their labels");
  CHECK_MSG(f[0] == 0, "a consensus figure for a run without consensus values");
  free(f);
  const char *rows[] = {
      "<tr><th>held-out accuracy before GRPO (SFT model)</th><td>0.250 (8 problems, greedy)</td></tr>",
      "<tr><th>held-out accuracy after GRPO</th><td>0.625 (8 problems, greedy)</td></tr>",
      "<tr><th>held-out gain</th><td>+37.5 points</td></tr>",
      "<tr><th>maj@G, last step with a labelled group</th><td>1.000 (step 5)</td></tr>",
      "<tr><th>pass@G, last step with a labelled group</th><td>1.000 (step 5)</td></tr>",
      "<tr><th>steps</th><td>6</td></tr>",
  };
  for (size_t k = 0; k < sizeof rows / sizeof *rows; k++) CHECK_MSG(strstr(html, rows[k]) != NULL, "report lacks %s", rows[k]);
  CHECK(!strstr(html, "consensus majority correct"));
  printf("ok   labelled: maj@G / pass@G figure and summary rows\n");
  free(html);
}

static void test_ttrl(void) {
  char *html = report_of("ttrl");
  if (!html) return;
  /* Steps 1, 2: x at 64 and 544. Majority right 0.5, 0.75; samples right
   * 0.25 then null: a dot. */
  char *f = figure(html, "Consensus groups against their labels");
  CHECK_MSG(strstr(f, "points=\"64.0,145.0 544.0,89.5 \"") && strstr(f, "<circle cx=\"64.0\" cy=\"200.5\""),
            "consensus figure:\n%s", f);
  CHECK(count(f, "<polyline") == 1 && count(f, "<circle") == 1);
  free(f);
  /* eval.initial before, no improvement_points: the gain is worked out,
   * 100 (0.25 - 0.5) = -25 points. */
  const char *rows[] = {
      "<tr><th>held-out accuracy before GRPO (initial model)</th><td>0.500 (4 problems, greedy)</td></tr>",
      "<tr><th>held-out accuracy after GRPO</th><td>0.250 (4 problems, greedy)</td></tr>",
      "<tr><th>held-out gain</th><td>-25.0 points</td></tr>",
      "<tr><th>consensus majority correct, last step with a value</th><td>0.750 (step 2)</td></tr>",
  };
  for (size_t k = 0; k < sizeof rows / sizeof *rows; k++) CHECK_MSG(strstr(html, rows[k]) != NULL, "report lacks %s", rows[k]);
  printf("ok   ttrl: consensus figure, gain from the two accuracies\n");
  free(html);
}

static void test_errors(void) {
  char out[256];
  snprintf(out, sizeof out, "%s/x.html", tmpdir);
  CHECK(rlvr_report_write(FIX "/no-such-run", out) == RLVR_ERR_IO);
  CHECK(rlvr_report_write(FIX "/bad", out) == RLVR_ERR_FORMAT);
  CHECK_MSG(strstr(rlvr_error_message(), "bad/metrics.jsonl:2") != NULL, "%s", rlvr_error_message());
  CHECK(!rlvr_file_exists(out));
}

int main(void) {
  CHECK(mkdtemp(tmpdir) != NULL);
  test_labelled();
  test_ttrl();
  test_errors();
  rmdir(tmpdir);
  return test_done();
}
