-- ablations.lua — GRPO, Dr. GRPO and DAPO on the default run, 3 seeds each.
--
--   rlvr sweep experiments/ablations/ablations.lua        # 9 runs, 2 at a time on 2 cores
--   rlvr compare runs/sweeps/ablations                     # table + figures
--
-- Each run is the whole default run (experiments/default.lua: SFT warm start
-- from scratch, then GRPO, held-out greedy accuracy before and after); only
-- the objective differs:
--   grpo     the DeepSeekMath/R1 objective: advantages (r - mean) / std over
--            the group, token mean per sequence then mean over sequences,
--            symmetric clip 0.2
--   dr_grpo  Dr. GRPO (Liu et al. 2025): advantages r - mean (no std), the
--            token sum over a constant (sequences x max tokens), no length bias
--   dapo     DAPO (Yu et al. 2025): clip-higher (eps_high 0.28), token mean
--            over the batch, dynamic sampling (groups whose rewards are all
--            equal are dropped and replaced)
-- The SFT warm start depends only on the seed, so the three variants of one
-- seed start GRPO from the same model. docs/experiments.md shows the results.
return {
  name = "ablations",
  base = "experiments/default.lua",
  variants = {
    { name = "grpo", ["advantage.estimator"] = "grpo", ["loss.aggregation"] = "grpo",
      ["loss.eps_high"] = 0.2, ["advantage.dynamic_sampling"] = false },
    { name = "dr_grpo", ["advantage.estimator"] = "dr_grpo", ["loss.aggregation"] = "dr_grpo",
      ["loss.eps_high"] = 0.2, ["advantage.dynamic_sampling"] = false },
    { name = "dapo", ["advantage.estimator"] = "grpo", ["loss.aggregation"] = "dapo",
      ["loss.eps_high"] = 0.28, ["advantage.dynamic_sampling"] = true },
  },
  seeds = { 1, 2, 3 },
  slurm = { cpus_per_task = 1, time = "00:30:00" },
}
