/* report.c — the HTML report of a run; see report.h.
 *
 * The page is built in a growing string buffer: a header with the run's
 * summary, then one <svg> per plot. A plot has a frame of W x H pixels, a
 * plotting area inside margins, "nice" ticks (1, 2 or 5 times a power of
 * ten) on both axes, one polyline per series, and a legend. A value that is
 * null or missing breaks its polyline (a gap, never a 0); a point alone
 * between gaps is a dot. A plot of fractions (PLOT_UNIT_Y) keeps its y
 * axis at [0, 1], so that curves of different figures read alike. Values
 * are read from metrics.jsonl by dotted path ("timing.learn_s").
 *
 * Geometry: plotting area x in [ML, W - MR], y in [MT, H - MB];
 *   px = ML + (step - xlo) / (xhi - xlo) * (W - ML - MR)
 *   py = MT + ph - (y - ylo) / (yhi - ylo) * ph,   ph = H - MT - MB
 * with xlo..xhi the steps that have a value in the plot and ylo..yhi the
 * values widened to whole ticks (or [0, 1]). */
#include "learner/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "core/svg.h"

/* ---- metrics ---- */

typedef struct {
  cJSON **lines;
  int n;
} metrics;

static double value_at(const cJSON *o, const char *path) {
  char key[128];
  const cJSON *cur = o;
  const char *p = path;
  while (cur && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n >= sizeof key) return NAN;
    memcpy(key, p, n);
    key[n] = 0;
    cur = cJSON_GetObjectItemCaseSensitive(cur, key);
    p = dot ? dot + 1 : p + n;
  }
  return cJSON_IsNumber(cur) ? cur->valuedouble : NAN;
}

static int read_metrics(const char *run_dir, metrics *m) {
  memset(m, 0, sizeof *m);
  size_t plen = strlen(run_dir) + 32;
  char *path = xmalloc(plen);
  snprintf(path, plen, "%s/metrics.jsonl", run_dir);
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) {
    free(path);
    return rc;
  }
  int lineno = 0;
  for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    lineno++;
    cJSON *o = cJSON_Parse(l);
    if (!cJSON_IsObject(o)) {
      cJSON_Delete(o);
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%d: not a JSON object", path, lineno);
      break;
    }
    m->lines = xrealloc(m->lines, (size_t)(m->n + 1) * sizeof *m->lines);
    m->lines[m->n++] = o;
  }
  free(text);
  free(path);
  return rc;
}

static void free_metrics(metrics *m) {
  for (int i = 0; i < m->n; i++) cJSON_Delete(m->lines[i]);
  free(m->lines);
}

/* ---- plots ---- */

enum { W = 560, H = 300, ML = 64, MR = 16, MT = 34, MB = 44, MAX_SERIES = 4 };
enum { PLOT_LOG_Y = 1, PLOT_UNIT_Y = 2 }; /* plot() flags */
/* Every attribute inline (no CSS classes), so that each <svg> renders the
 * same copied out of the page. */
#define TEXT_ATTR "font-family=\"sans-serif\" font-size=\"11\""
static const char *colors[MAX_SERIES] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

typedef struct {
  const char *path;  /* dotted path in a metrics line */
  const char *label; /* legend */
} series;

static void fmt_tick(char *buf, size_t cap, double v, double step) {
  if (fabs(v) < step * 1e-9) v = 0;
  if (fabs(v) >= 1e5 || (fabs(v) < 1e-3 && v != 0)) snprintf(buf, cap, "%.2g", v);
  else {
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    snprintf(buf, cap, "%.*f", dec, v);
  }
}

/* One plot; returns 0 (nothing drawn) when no series has a value. */
static int plot(rlvr_svg_buf *b, const metrics *m, const char *title, const series *ss, int ns, int flags) {
  const int log_y = (flags & PLOT_LOG_Y) != 0;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  int any = 0;
  for (int i = 0; i < m->n; i++) {
    double x = value_at(m->lines[i], "step");
    if (!isfinite(x)) continue;
    for (int k = 0; k < ns; k++) {
      double y = value_at(m->lines[i], ss[k].path);
      if (!isfinite(y) || (log_y && y <= 0)) continue;
      if (log_y) y = log10(y);
      any = 1;
      if (x < xlo) xlo = x;
      if (x > xhi) xhi = x;
      if (y < ylo) ylo = y;
      if (y > yhi) yhi = y;
    }
  }
  if (!any) return 0;
  if (xhi == xlo) xlo -= 1, xhi += 1;
  double ystep;
  if ((flags & PLOT_UNIT_Y) && !log_y && ylo >= 0 && yhi <= 1) {
    ylo = 0, yhi = 1, ystep = 0.2;
  } else {
    if (yhi == ylo) {
      double d = fabs(ylo) > 0 ? fabs(ylo) * 0.1 : 1;
      ylo -= d, yhi += d;
    }
    ystep = log_y ? fmax(1, rlvr_svg_nice_step(yhi - ylo)) : rlvr_svg_nice_step(yhi - ylo);
    ylo = floor(ylo / ystep) * ystep;
    yhi = ceil(yhi / ystep) * ystep;
  }
  const double xstep = fmax(1, rlvr_svg_nice_step(xhi - xlo));
  const double pw = W - ML - MR, ph = H - MT - MB;
#define PX(x) (ML + ((x)-xlo) / (xhi - xlo) * pw)
#define PY(y) (MT + ph - ((y)-ylo) / (yhi - ylo) * ph)
  rlvr_svg_printf(b, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, H,
         W, H);
  rlvr_svg_printf(b, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", ML);
  rlvr_svg_text(b, title);
  rlvr_svg_printf(b, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"white\" stroke=\"#999\"/>\n", ML, MT, pw, ph);
  char tick[32];
  for (double y = ylo; y <= yhi + ystep * 1e-6; y += ystep) {
    fmt_tick(tick, sizeof tick, log_y ? pow(10, y) : y, log_y ? pow(10, y) : ystep);
    rlvr_svg_printf(b, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/><text x=\"%d\" y=\"%.1f\" " TEXT_ATTR " text-anchor=\"end\">%s</text>\n",
           ML, ML + pw, PY(y), PY(y), ML - 6, PY(y) + 4, tick);
  }
  for (double x = ceil(xlo / xstep) * xstep; x <= xhi + 1e-9; x += xstep) {
    fmt_tick(tick, sizeof tick, x, xstep);
    rlvr_svg_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/><text x=\"%.1f\" y=\"%.1f\" " TEXT_ATTR " text-anchor=\"middle\">%s</text>\n",
           PX(x), PX(x), MT, MT + ph, PX(x), MT + ph + 16, tick);
  }
  rlvr_svg_printf(b, "<text x=\"%.1f\" y=\"%d\" " TEXT_ATTR " text-anchor=\"middle\">step</text>\n", ML + pw / 2, H - 6);
  for (int k = 0; k < ns; k++) {
    /* Runs of consecutive lines with a value: a polyline each, a dot for
     * a run of one. A line without a step ends a run too. */
    for (int i = 0; i < m->n;) {
      int e = i;
      while (e < m->n) {
        double x = value_at(m->lines[e], "step"), y = value_at(m->lines[e], ss[k].path);
        if (!(isfinite(x) && isfinite(y) && (!log_y || y > 0))) break;
        e++;
      }
      if (e == i) {
        i++;
        continue;
      }
      if (e - i == 1) {
        double y = value_at(m->lines[i], ss[k].path);
        rlvr_svg_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", PX(value_at(m->lines[i], "step")),
               PY(log_y ? log10(y) : y), colors[k]);
      } else {
        rlvr_svg_printf(b, "<polyline fill=\"none\" stroke-width=\"1.8\" stroke=\"%s\" points=\"", colors[k]);
        for (int q = i; q < e; q++) {
          double y = value_at(m->lines[q], ss[k].path);
          rlvr_svg_printf(b, "%.1f,%.1f ", PX(value_at(m->lines[q], "step")), PY(log_y ? log10(y) : y));
        }
        rlvr_svg_printf(b, "\"/>\n");
      }
      i = e;
    }
  }
  /* The legend last, on a light box, so that no curve hides it. */
  rlvr_svg_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"146\" height=\"%d\" fill=\"white\" fill-opacity=\"0.8\"/>\n", W - MR - 154, MT + 2,
         14 * ns + 4);
  for (int k = 0; k < ns; k++) {
    rlvr_svg_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"3\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" " TEXT_ATTR ">", W - MR - 150,
           MT + 8 + 14 * k, colors[k], W - MR - 136, MT + 12 + 14 * k);
    rlvr_svg_text(b, ss[k].label);
    rlvr_svg_printf(b, "</text>\n");
  }
#undef PX
#undef PY
  rlvr_svg_printf(b, "</svg></figure>\n");
  return 1;
}

/* ---- the page ---- */

static char *read_text(const char *run_dir, const char *name) {
  size_t n = strlen(run_dir) + strlen(name) + 2;
  char *path = xmalloc(n);
  snprintf(path, n, "%s/%s", run_dir, name);
  char *text = NULL;
  size_t len;
  if (rlvr_file_read(path, &text, &len) != RLVR_OK) text = NULL;
  free(path);
  return text;
}

/* One row of held-out accuracy: "0.625 (8 problems, greedy)". */
static void heldout_row(rlvr_svg_buf *b, const char *label, const char *name, const cJSON *e) {
  double acc = value_at(e, "accuracy"), n = value_at(e, "problems");
  if (!isfinite(acc)) return;
  rlvr_svg_printf(b, "<tr><th>");
  rlvr_svg_text(b, label);
  if (name) {
    rlvr_svg_printf(b, " (");
    rlvr_svg_text(b, name);
    rlvr_svg_printf(b, ")");
  }
  rlvr_svg_printf(b, "</th><td>%.3f", acc);
  if (isfinite(n)) rlvr_svg_printf(b, " (%.0f problems, greedy)", n);
  rlvr_svg_printf(b, "</td></tr>\n");
}

/* The last line with a value of path: its value and step (NAN if none). */
static double last_value(const metrics *m, const char *path, double *step) {
  for (int i = m->n - 1; i >= 0; i--) {
    double v = value_at(m->lines[i], path);
    if (isfinite(v)) {
      *step = value_at(m->lines[i], "step");
      return v;
    }
  }
  *step = NAN;
  return NAN;
}

static void summary_table(rlvr_svg_buf *b, const char *run_dir, const metrics *m) {
  rlvr_svg_printf(b, "<table>\n");
  char *text = read_text(run_dir, "summary.json");
  cJSON *s = text ? cJSON_Parse(text) : NULL;
  free(text);
  const cJSON *ev = cJSON_GetObjectItemCaseSensitive(s, "eval");
  if (cJSON_IsObject(ev)) {
    /* Before GRPO: the SFT model after a warm start, else the initial one
     * (cmd/cmd_train.c writes one of them); after: "grpo". */
    const char *before_name = cJSON_GetObjectItemCaseSensitive(ev, "sft") ? "sft" : "initial";
    const cJSON *before = cJSON_GetObjectItemCaseSensitive(ev, before_name), *after = cJSON_GetObjectItemCaseSensitive(ev, "grpo");
    heldout_row(b, "held-out accuracy before GRPO", !strcmp(before_name, "sft") ? "SFT model" : "initial model", before);
    heldout_row(b, "held-out accuracy after GRPO", NULL, after);
    double gain = value_at(s, "improvement_points");
    if (!isfinite(gain)) gain = 100.0 * (value_at(after, "accuracy") - value_at(before, "accuracy"));
    if (isfinite(gain)) rlvr_svg_printf(b, "<tr><th>held-out gain</th><td>%+.1f points</td></tr>\n", gain);
    for (const cJSON *e = ev->child; e; e = e->next)
      if (e->string && e != before && e != after) heldout_row(b, "held-out accuracy", e->string, e);
  }
  cJSON_Delete(s);
  if (m->n > 0) {
    const cJSON *last = m->lines[m->n - 1];
    rlvr_svg_printf(b, "<tr><th>steps</th><td>%.0f</td></tr>\n", value_at(last, "step"));
    double el = value_at(last, "timing.elapsed_s");
    if (isfinite(el)) rlvr_svg_printf(b, "<tr><th>training time</th><td>%.1f s</td></tr>\n", el);
    double r0 = value_at(m->lines[0], "reward"), r1 = value_at(last, "reward");
    if (isfinite(r0) && isfinite(r1)) rlvr_svg_printf(b, "<tr><th>reward, first → last step</th><td>%.3f → %.3f</td></tr>\n", r0, r1);
    double md = 0;
    for (int i = 0; i < m->n; i++) {
      double d = value_at(m->lines[i], "max_logprob_diff");
      if (isfinite(d) && d > md) md = d;
    }
    rlvr_svg_printf(b, "<tr><th>largest |recomputed − sampled| log-prob</th><td>%.3g</td></tr>\n", md);
    static const series last_rows[] = {{"maj_at_g", "maj@G, last step with a labelled group"},
                                       {"pass_at_g", "pass@G, last step with a labelled group"},
                                       {"consensus_majority_correct", "consensus majority correct, last step with a value"}};
    for (size_t k = 0; k < sizeof last_rows / sizeof *last_rows; k++) {
      double step, v = last_value(m, last_rows[k].path, &step);
      if (!isfinite(v)) continue;
      rlvr_svg_printf(b, "<tr><th>%s</th><td>%.3f (step %.0f)</td></tr>\n", last_rows[k].label, v, step);
    }
  }
  rlvr_svg_printf(b, "</table>\n");
}

static void samples_section(rlvr_svg_buf *b, const char *run_dir) {
  char *text = read_text(run_dir, "samples.jsonl");
  if (!text) return;
  /* the last 6 lines */
  int n = 0;
  char *starts[6];
  char *p = text;
  while (*p) {
    char *e = strchr(p, '\n');
    starts[n % 6] = p;
    n++;
    if (!e) break;
    *e = 0;
    p = e + 1;
  }
  if (n > 0) {
    rlvr_svg_printf(b, "<h2>Last samples</h2>\n");
    int first = n > 6 ? n - 6 : 0;
    for (int i = first; i < n; i++) {
      cJSON *o = cJSON_Parse(starts[i % 6]);
      if (!o) continue;
      const cJSON *pr = cJSON_GetObjectItemCaseSensitive(o, "prompt"), *co = cJSON_GetObjectItemCaseSensitive(o, "completion");
      const cJSON *an = cJSON_GetObjectItemCaseSensitive(o, "answer");
      rlvr_svg_printf(b, "<div class=\"sm\"><b>step %.0f, reward %.3f</b> — ", value_at(o, "step"), value_at(o, "reward"));
      if (cJSON_IsString(pr)) rlvr_svg_text(b, pr->valuestring);
      if (cJSON_IsString(an)) {
        rlvr_svg_printf(b, " <i>(answer ");
        rlvr_svg_text(b, an->valuestring);
        rlvr_svg_printf(b, ")</i>");
      }
      rlvr_svg_printf(b, "<pre>");
      if (cJSON_IsString(co)) rlvr_svg_text(b, co->valuestring);
      rlvr_svg_printf(b, "</pre></div>\n");
      cJSON_Delete(o);
    }
  }
  free(text);
}

int rlvr_report_write(const char *run_dir, const char *out_path) {
  metrics m;
  int rc = read_metrics(run_dir, &m);
  if (rc) {
    free_metrics(&m);
    return rc;
  }
  rlvr_svg_buf b = {0};
  rlvr_svg_printf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rlvr run ");
  rlvr_svg_text(&b, run_dir);
  rlvr_svg_printf(&b,
         "</title>\n<style>\n"
         "body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}\n"
         "table{border-collapse:collapse}th,td{text-align:left;padding:3px 12px 3px 0}th{font-weight:normal;color:#555}\n"
         "figure{display:inline-block;margin:6px}\n"
         "pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;font-size:12px}.sm{margin:8px 0}\n"
         "</style></head><body>\n<h1>rlvr run: ");
  rlvr_svg_text(&b, run_dir);
  rlvr_svg_printf(&b, "</h1>\n");
  summary_table(&b, run_dir, &m);
  rlvr_svg_printf(&b, "<h2>Training</h2>\n");
  const series reward[] = {{"reward", "reward (mean)"}, {"accuracy", "accuracy"}, {"reward_format", "format"}};
  plot(&b, &m, "Reward and accuracy", reward, 3, 0);
  /* maj@G and pass@G: null on steps without a labelled group (gaps). */
  const series majpass[] = {{"accuracy", "accuracy"}, {"maj_at_g", "maj@G"}, {"pass_at_g", "pass@G"}};
  plot(&b, &m, "Accuracy, maj@G and pass@G", majpass, 3, PLOT_UNIT_Y);
  /* Test-time RL only (null otherwise): of the labelled consensus groups,
   * how often the majority (the pseudo-label) was the real answer, and the
   * samples' real accuracy. */
  const series cons[] = {{"consensus_majority_correct", "majority right"}, {"consensus_label_accuracy", "samples right"}};
  plot(&b, &m, "Consensus groups against their labels", cons, 2, PLOT_UNIT_Y);
  const series len[] = {{"completion_length_mean", "mean"}, {"completion_length_min", "min"}, {"completion_length_max", "max"}};
  plot(&b, &m, "Completion length (tokens)", len, 3, 0);
  const series kl[] = {{"kl", "KL to the reference (k3)"}};
  plot(&b, &m, "KL", kl, 1, 0);
  const series ent[] = {{"entropy", "entropy (nats/token)"}};
  plot(&b, &m, "Entropy", ent, 1, 0);
  const series loss[] = {{"loss", "loss"}};
  plot(&b, &m, "Loss", loss, 1, 0);
  const series gn[] = {{"grad_norm", "gradient norm (before clipping)"}};
  plot(&b, &m, "Gradient norm", gn, 1, 0);
  const series clip[] = {{"clip_low_fraction", "clipped low"}, {"clip_high_fraction", "clipped high"}};
  plot(&b, &m, "Clip fractions", clip, 2, 0);
  const series ratio[] = {{"ratio_mean", "mean"}, {"ratio_min", "min"}, {"ratio_max", "max"}};
  plot(&b, &m, "Importance ratio", ratio, 3, 0);
  const series zs[] = {{"zero_spread_fraction", "groups with zero reward spread"}};
  plot(&b, &m, "Zero-spread groups", zs, 1, 0);
  const series adv[] = {{"advantage_std", "std"}, {"advantage_max", "max"}, {"advantage_min", "min"}};
  plot(&b, &m, "Advantages", adv, 3, 0);
  const series lp[] = {{"max_logprob_diff", "max |recomputed - sampled|"}};
  plot(&b, &m, "Log-prob mismatch, learner vs rollout", lp, 1, 0);
  rlvr_svg_printf(&b, "<h2>Speed</h2>\n");
  const series phase[] = {{"timing.step_s", "whole step"}, {"timing.wait_s", "waiting for rollouts"},
                          {"timing.learn_s", "learning"}, {"timing.sync_s", "publishing weights"}};
  plot(&b, &m, "Seconds per step", phase, 4, 0);
  const series tps[] = {{"timing.tokens_per_s", "completion tokens / s"}};
  plot(&b, &m, "Throughput", tps, 1, 0);
  samples_section(&b, run_dir);
  char *cfg = read_text(run_dir, "config.lua");
  if (cfg) {
    rlvr_svg_printf(&b, "<h2>Configuration</h2>\n<details><summary>config.lua</summary><pre>");
    rlvr_svg_text(&b, cfg);
    rlvr_svg_printf(&b, "</pre></details>\n");
    free(cfg);
  }
  rlvr_svg_printf(&b, "</body></html>\n");
  size_t n = strlen(run_dir) + 32;
  char *path = NULL;
  if (!out_path) {
    path = xmalloc(n);
    snprintf(path, n, "%s/report.html", run_dir);
  }
  rc = rlvr_file_write_atomic(out_path ? out_path : path, b.s, b.len);
  free(path);
  free(b.s);
  free_metrics(&m);
  return rc;
}
