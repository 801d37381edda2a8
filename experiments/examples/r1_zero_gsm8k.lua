-- r1_zero_gsm8k.lua — R1-Zero-style GRPO from a base model on GSM8K.
--
--   rlvr train experiments/examples/r1_zero_gsm8k.lua
--   rlvr train experiments/examples/r1_zero_gsm8k.lua --set model.path=models/Qwen2.5-1.5B
--
-- Edit first:
--   model.path        a Hugging Face checkpoint directory (config.json,
--                     *.safetensors, tokenizer.json), e.g. Qwen2.5-0.5B or
--                     Qwen2.5-1.5B (base models, not -Instruct: R1-Zero starts
--                     from a base model with no SFT).
--   task.source       GSM8K's training JSONL: {"question": ..., "answer": "... #### 72"}.
--   task.heldout_path GSM8K's test JSONL (same fields), scored greedily
--                     before and after training (train.eval).
--
-- Where the settings come from (a value not listed here is our choice for a
-- 0.5B-1.5B model on one machine, not a published number):
--   - prompt: the R1-Zero template, word for word (DeepSeek-R1,
--     arXiv:2501.12948, Table 1; task.template = "r1_zero", docs/tasks.md).
--   - reward: rule-based accuracy plus a format reward, as R1-Zero
--     (same paper, section 2.2.2). The paper gives no weights; 1 and 0.1
--     keep correctness dominant.
--   - G = 8 completions per prompt, temperature 1, lr 1e-6 constant, no KL
--     (beta 0): Dr. GRPO (Liu et al. 2025, arXiv:2503.20783, its
--     Qwen2.5 R1-Zero recipe) and DAPO (Yu et al. 2025, arXiv:2503.14476)
--     both train with lr 1e-6 and without the KL term.
--   - clip-higher eps_low 0.2 / eps_high 0.28, token-level loss
--     (aggregation "dapo"), dynamic sampling, soft overlong punishment,
--     20 warm-up steps: DAPO. DAPO's lengths were 20480 tokens with a 4096
--     cache on 32B; GSM8K solutions are short, so 1024 with a 256 cache here.
--   - DAPO used 512 prompts x 16 samples per step; 64 x 8 here (fits one GPU
--     with a 0.5B-1.5B model; raise it if you have the memory and time).
return {
  run = { dir = "runs/r1_zero_gsm8k", seed = 1, threads = 0 },

  model = { path = "models/Qwen2.5-0.5B" },            -- EDIT: your checkpoint

  task = {
    source = "data/gsm8k/train.jsonl",                 -- EDIT: GSM8K train
    heldout_path = "data/gsm8k/test.jsonl",            -- EDIT: GSM8K test
    prompt_field = "question",
    answer_field = "answer",
    answer_extract = "gsm8k",                          -- the number after the last '####'
    template = "r1_zero",                              -- DeepSeek-R1 Table 1, ends at 'Assistant:'
    verifier = "math",                                 -- docs/verifiers_math.md
  },

  -- Sampling of the training rollouts (R1 / DAPO: temperature 1, no truncation).
  sample = { temperature = 1.0, top_p = 1.0, max_tokens = 1024 },

  reward = {
    accuracy_weight = 1.0,                             -- math verifier: 1 if the <answer> equals the label
    format_weight = 0.1,                               -- <think>...</think> <answer>...</answer> (verifiers/format.lua)
    length_weight = 1.0,                               -- DAPO soft overlong punishment, in [-1, 0] ...
    overlong_max = 1024,                               -- ... reaching -1 at sample.max_tokens
    overlong_cache = 256,                              -- ... falling linearly over the last 256 tokens
  },

  advantage = {
    estimator = "grpo",                                -- (r - mean) / std within each group
    dynamic_sampling = true,                           -- DAPO: skip groups whose rewards are all equal
  },

  loss = {
    aggregation = "dapo",                              -- DAPO token-level loss
    eps_low = 0.2,
    eps_high = 0.28,                                   -- DAPO clip-higher
    beta = 0,                                          -- no KL term, no reference model (DAPO, Dr. GRPO)
  },

  optim = {
    lr = 1e-6,                                         -- DAPO, Dr. GRPO
    schedule = "constant",
    warmup_steps = 20,                                 -- DAPO: linear warm-up over 20 steps
    max_grad_norm = 1.0,
  },

  train = {
    steps = 500,
    prompts_per_step = 64,
    group_size = 8,                                    -- G
    micro_batch = 16,                                  -- lower it if the learner runs out of memory
    workers = 2,                                       -- rollout worker processes on this machine
    eval = true,                                       -- greedy accuracy on task.heldout_path before/after
    eval_size = 500,                                   -- the first 500 test problems (0 = all)
    samples_per_step = 2,
  },

  rollout = { slots = 64 },                            -- sequences each worker decodes at once

  checkpoint = { every = 50, keep = 3 },               -- resume with: rlvr train <this file> --resume
}
