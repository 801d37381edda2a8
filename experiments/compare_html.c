/* compare_html.c — the comparison as a self-contained HTML page: the table
 * and one inline SVG figure per metric; see compare.h.
 *
 * A figure is W x H pixels with the plot area inset by the margins; data
 * (step, value) maps linearly onto it, y growing upwards:
 *   px = ML + (step - x0) / (x1 - x0) * (W - ML - MR)
 *   py = H - MB - (value - y0) / (y1 - y0) * (H - MT - MB)
 * x0..x1 and y0..y1 are the data's range widened to "nice" tick values. Each
 * run is a thin polyline in its group's colour; the group's mean (over its
 * runs, at each step that at least one of them logged a value) is a thick
 * one. A null (NAN) point breaks a curve: a gap, never a 0; a point alone
 * between gaps is a dot. With smoothing, each run's curve is first replaced
 * by its trailing mean over `smooth` points (the non-null values among the
 * last `smooth` points; null points stay null). The page is well-formed XML
 * (XHTML), so a parser can check it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/svg.h"
#include "experiments/compare.h"

enum { W = 720, H = 360, ML = 64, MR = 16, MT = 28, MB = 40 };

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
enum { NPALETTE = sizeof palette / sizeof palette[0] };

/* Text escaped as rlvr_svg_text does; control bytes other than \n and \t
 * become '?', so the page stays well-formed XML. */
static void sb_escaped(rlvr_svg_buf *b, const char *s) {
  for (; *s; s++) {
    const char c[2] = {(unsigned char)*s < 32 && *s != '\n' && *s != '\t' ? '?' : *s, 0};
    rlvr_svg_text(b, c);
  }
}

/* A run's curve for plotting: its series, smoothed (trailing mean of the
 * non-null values among the last `smooth` points); a null stays NAN. */
static void run_curve(const rlvr_series *s, int smooth, double *out) {
  double acc = 0;
  int cnt = 0;
  for (int k = 0; k < s->n; k++) {
    if (isfinite(s->value[k])) acc += s->value[k], cnt++;
    if (k >= smooth && isfinite(s->value[k - smooth])) acc -= s->value[k - smooth], cnt--;
    out[k] = isfinite(s->value[k]) && cnt > 0 ? acc / cnt : NAN;
  }
}

/* Points (px, py) as polylines broken at NAN y, a lone point as a dot.
 * cls: "run" or "mean"; title: the tooltip of each piece. */
static void sb_curve(rlvr_svg_buf *b, const double *px, const double *py, int n, const char *cls, const char *colour,
                     const char *title_prefix, const char *title) {
  for (int k = 0; k < n;) {
    if (!isfinite(py[k])) {
      k++;
      continue;
    }
    int e = k;
    while (e < n && isfinite(py[e])) e++;
    if (e - k == 1) {
      rlvr_svg_printf(b, "<circle class=\"%s-dot\" fill=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"><title>%s", cls, colour, px[k],
                py[k], strcmp(cls, "mean") ? "2" : "3", title_prefix);
      sb_escaped(b, title);
      rlvr_svg_printf(b, "</title></circle>\n");
    } else {
      rlvr_svg_printf(b, "<polyline class=\"%s\" stroke=\"%s\" points=\"", cls, colour);
      for (int q = k; q < e; q++) rlvr_svg_printf(b, "%s%.1f,%.1f", q > k ? " " : "", px[q], py[q]);
      rlvr_svg_printf(b, "\"><title>%s", title_prefix);
      sb_escaped(b, title);
      rlvr_svg_printf(b, "</title></polyline>\n");
    }
    k = e;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

char *rlvr_compare_svg(const rlvr_compare *c, int m) {
  int smooth = c->smooth > 0 ? c->smooth : 1;
  /* Curves and the data range. */
  double **curves = xcalloc((size_t)c->nruns, sizeof *curves);
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int i = 0; i < c->nruns; i++) {
    const rlvr_series *s = &c->runs[i].series[m];
    curves[i] = xmalloc((size_t)(s->n > 0 ? s->n : 1) * sizeof **curves);
    run_curve(s, smooth, curves[i]);
    for (int k = 0; k < s->n; k++) {
      if (!isfinite(curves[i][k])) continue;
      if (s->step[k] < x0) x0 = s->step[k];
      if (s->step[k] > x1) x1 = s->step[k];
      if (curves[i][k] < y0) y0 = curves[i][k];
      if (curves[i][k] > y1) y1 = curves[i][k];
    }
  }
  rlvr_svg_buf b = {0};
  rlvr_svg_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", W, H,
            W, H);
  rlvr_svg_printf(&b, "<text x=\"%d\" y=\"18\" class=\"title\">", ML);
  char head[512];
  rlvr_compare_metric_header(&c->metrics[m], 0, head, sizeof head);
  sb_escaped(&b, c->metrics[m].from_summary ? head : c->metrics[m].name);
  if (smooth > 1) rlvr_svg_printf(&b, " (trailing mean of %d)", smooth);
  rlvr_svg_printf(&b, "</text>\n");
  if (!isfinite(x0)) {
    rlvr_svg_printf(&b, "<text x=\"%d\" y=\"%d\">no data</text>\n</svg>\n", W / 2 - 30, H / 2);
    for (int i = 0; i < c->nruns; i++) free(curves[i]);
    free(curves);
    return b.s;
  }
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  double xs = rlvr_svg_nice_step(x1 - x0), ys = rlvr_svg_nice_step(y1 - y0);
  /* Out to whole ticks; the 1e-9 keeps a bound that is a tick in decimal
   * (0.5 with ticks of 0.1: 0.5 / 0.1 = 5.000000000000001) from gaining one. */
  x0 = floor(x0 / xs + 1e-9) * xs, x1 = ceil(x1 / xs - 1e-9) * xs;
  y0 = floor(y0 / ys + 1e-9) * ys, y1 = ceil(y1 / ys - 1e-9) * ys;
  const double pw = W - ML - MR, ph = H - MT - MB;
#define PX(x) (ML + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (H - MB - ((y) - y0) / (y1 - y0) * ph)

  /* Frame, grid and ticks. */
  rlvr_svg_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" class=\"frame\"/>\n", ML, MT, pw, ph);
  for (int k = 0; k <= 100; k++) {
    double y = y0 + k * ys;
    if (y > y1 + ys * 1e-9) break;
    rlvr_svg_printf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" class=\"grid\"/>", ML, PY(y), ML + pw, PY(y));
    rlvr_svg_printf(&b, "<text x=\"%d\" y=\"%.1f\" class=\"ytick\">%.4g</text>\n", ML - 6, PY(y) + 4, fabs(y) < ys * 1e-9 ? 0.0 : y);
  }
  for (int k = 0; k <= 100; k++) {
    double x = x0 + k * xs;
    if (x > x1 + xs * 1e-9) break;
    rlvr_svg_printf(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" class=\"grid\"/>", PX(x), MT, PX(x), MT + ph);
    rlvr_svg_printf(&b, "<text x=\"%.1f\" y=\"%d\" class=\"xtick\">%.6g</text>\n", PX(x), H - MB + 16, x);
  }
  rlvr_svg_printf(&b, "<text x=\"%.0f\" y=\"%d\" class=\"xlabel\">step</text>\n", ML + pw / 2, H - 6);

  /* Runs, thin. */
  for (int g = 0; g < c->ngroups; g++) {
    const char *colour = palette[g % NPALETTE];
    for (int r = 0; r < c->groups[g].nruns; r++) {
      int i = c->groups[g].runs[r];
      const rlvr_series *s = &c->runs[i].series[m];
      if (s->n == 0) continue;
      double *px = xmalloc((size_t)s->n * sizeof *px), *py = xmalloc((size_t)s->n * sizeof *py);
      for (int k = 0; k < s->n; k++) px[k] = PX(s->step[k]), py[k] = isfinite(curves[i][k]) ? PY(curves[i][k]) : NAN;
      sb_curve(&b, px, py, s->n, "run", colour, "", c->runs[i].label);
      free(px), free(py);
    }
  }
  /* Group means, thick: at each step some run of the group logged, the mean
   * of the runs' values there. */
  for (int g = 0; g < c->ngroups; g++) {
    const rlvr_compare_group *gr = &c->groups[g];
    if (gr->nruns < 2) continue;
    int total = 0;
    for (int r = 0; r < gr->nruns; r++) total += c->runs[gr->runs[r]].series[m].n;
    if (total == 0) continue;
    double *steps = xmalloc((size_t)total * sizeof *steps);
    int ns = 0;
    for (int r = 0; r < gr->nruns; r++) {
      const rlvr_series *s = &c->runs[gr->runs[r]].series[m];
      for (int k = 0; k < s->n; k++) steps[ns++] = s->step[k];
    }
    qsort(steps, (size_t)ns, sizeof *steps, cmp_double);
    /* The mean at each distinct step; NAN (a gap) where every run of the
     * group has null there. */
    double *px = xmalloc((size_t)ns * sizeof *px), *py = xmalloc((size_t)ns * sizeof *py);
    int np = 0;
    for (int k = 0; k < ns; k++) {
      if (k > 0 && steps[k] == steps[k - 1]) continue;
      double sum = 0;
      int n = 0;
      for (int r = 0; r < gr->nruns; r++) {
        int i = gr->runs[r];
        const rlvr_series *s = &c->runs[i].series[m];
        for (int q = 0; q < s->n; q++)
          if (s->step[q] == steps[k]) {
            if (isfinite(curves[i][q])) sum += curves[i][q], n++;
            break;
          }
      }
      px[np] = PX(steps[k]);
      py[np++] = n ? PY(sum / n) : NAN;
    }
    sb_curve(&b, px, py, np, "mean", palette[g % NPALETTE], "mean of ", gr->label);
    free(px), free(py);
    free(steps);
  }
  rlvr_svg_printf(&b, "</svg>\n");
#undef PX
#undef PY
  for (int i = 0; i < c->nruns; i++) free(curves[i]);
  free(curves);
  return b.s;
}

static void html_table(const rlvr_compare *c, rlvr_svg_buf *b) {
  rlvr_svg_printf(b, "<table>\n<tr><th></th>");
  for (int k = 0; k < c->ndiff; k++) {
    rlvr_svg_printf(b, "<th>");
    sb_escaped(b, c->diff_keys[k]);
    rlvr_svg_printf(b, "</th>");
  }
  rlvr_svg_printf(b, "<th>runs</th>");
  for (int m = 0; m < c->nmetrics; m++)
    for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) {
      char head[512];
      rlvr_compare_metric_header(&c->metrics[m], best, head, sizeof head);
      rlvr_svg_printf(b, "<th>");
      sb_escaped(b, head);
      rlvr_svg_printf(b, "</th>");
    }
  rlvr_svg_printf(b, "</tr>\n");
  for (int g = 0; g < c->ngroups; g++) {
    const rlvr_compare_group *gr = &c->groups[g];
    rlvr_svg_printf(b, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span></td>", palette[g % NPALETTE]);
    for (int k = 0; k < c->ndiff; k++) {
      rlvr_svg_printf(b, "<td>");
      sb_escaped(b, gr->values[k]);
      rlvr_svg_printf(b, "</td>");
    }
    rlvr_svg_printf(b, "<td class=\"num\">%d</td>", gr->nruns);
    for (int m = 0; m < c->nmetrics; m++)
      for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) {
        double mean, std;
        int n;
        rlvr_compare_stat(c, g, m, best, &mean, &std, &n);
        if (!isfinite(mean)) rlvr_svg_printf(b, "<td class=\"num\">-</td>");
        else if (isfinite(std)) rlvr_svg_printf(b, "<td class=\"num\">%.4g &#177; %.2g</td>", mean, std);
        else rlvr_svg_printf(b, "<td class=\"num\">%.4g</td>", mean);
      }
    rlvr_svg_printf(b, "</tr>\n");
  }
  rlvr_svg_printf(b, "</table>\n");
}

int rlvr_compare_write_html(const rlvr_compare *c, const char *path, const char *title) {
  rlvr_svg_buf b = {0};
  rlvr_svg_printf(&b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>");
  sb_escaped(&b, title);
  rlvr_svg_printf(&b, "</title>\n<style>\n"
                "body { font-family: sans-serif; margin: 24px; color: #222; }\n"
                "table { border-collapse: collapse; margin-bottom: 24px; }\n"
                "td, th { border: 1px solid #ccc; padding: 4px 8px; font-size: 13px; }\n"
                "td.num { text-align: right; font-variant-numeric: tabular-nums; }\n"
                ".swatch { display: inline-block; width: 14px; height: 4px; }\n"
                "svg { display: block; }\n"
                ".legend { font-size: 12px; margin: 2px 0 20px 64px; }\n"
                "svg text { font-size: 11px; fill: #333; }\n"
                "svg .title { font-size: 13px; font-weight: bold; }\n"
                "svg .ytick { text-anchor: end; }\n"
                "svg .xtick, svg .xlabel { text-anchor: middle; }\n"
                "svg .frame { fill: none; stroke: #999; }\n"
                "svg .grid { stroke: #eee; }\n"
                "svg .run { fill: none; stroke-width: 1; stroke-opacity: 0.45; }\n"
                "svg .mean { fill: none; stroke-width: 2.5; }\n"
                "</style>\n</head>\n<body>\n<h1>");
  sb_escaped(&b, title);
  rlvr_svg_printf(&b, "</h1>\n<p>%d run%s in %d group%s; thin lines are runs, thick ones the mean of a group's runs.", c->nruns,
            c->nruns == 1 ? "" : "s", c->ngroups, c->ngroups == 1 ? "" : "s");
  rlvr_svg_printf(&b, " Values: mean &#177; sample standard deviation over each group's runs.</p>\n");
  html_table(c, &b);
  for (int m = 0; m < c->nmetrics; m++) {
    if (c->metrics[m].from_summary) continue;
    char *svg = rlvr_compare_svg(c, m);
    rlvr_svg_printf(&b, "%s<p class=\"legend\">", svg);
    free(svg);
    for (int g = 0; g < c->ngroups; g++) {
      rlvr_svg_printf(&b, "<span class=\"swatch\" style=\"background:%s\"></span> ", palette[g % NPALETTE]);
      sb_escaped(&b, c->groups[g].label);
      rlvr_svg_printf(&b, " (%d)%s", c->groups[g].nruns, g + 1 < c->ngroups ? " &#160; " : "");
    }
    rlvr_svg_printf(&b, "</p>\n");
  }
  rlvr_svg_printf(&b, "<h2>Runs</h2>\n<ul>\n");
  for (int g = 0; g < c->ngroups; g++)
    for (int r = 0; r < c->groups[g].nruns; r++) {
      const rlvr_compare_run *run = &c->runs[c->groups[g].runs[r]];
      rlvr_svg_printf(&b, "<li><span class=\"swatch\" style=\"background:%s\"></span> ", palette[g % NPALETTE]);
      sb_escaped(&b, run->label);
      rlvr_svg_printf(&b, ": ");
      sb_escaped(&b, run->dir);
      rlvr_svg_printf(&b, "</li>\n");
    }
  rlvr_svg_printf(&b, "</ul>\n</body>\n</html>\n");
  int rc = rlvr_file_write_atomic(path, b.s, b.len);
  free(b.s);
  return rc;
}
