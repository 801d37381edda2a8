/* config.h — run configuration: Lua files returning a table, merged over
 * documented defaults, with `--set key=value` overrides.
 *
 * Every key is declared once, in RLVR_CONFIG_FIELDS below: its type, its C
 * field, its dotted name, its default and its documentation. The struct, the
 * defaults, the parser and `rlvr config` (the reference page) all come from
 * that one list. A Lua file nests tables by section:
 *
 *   return { sample = { temperature = 0.7, max_tokens = 256 } }
 *
 * Unknown keys are an error that names the nearest valid key. */
#ifndef RLVR_CONFIG_H
#define RLVR_CONFIG_H

#include <stdint.h>
#include <stdio.h>

/* X(TYPE, c_name, "dotted.key", default, "documentation")
 * TYPE: INT (int64_t), FLOAT (double), BOOL (int, 0 or 1), STR (char *, owned). */
#define RLVR_CONFIG_FIELDS(X)                                                                      \
  X(STR, run_dir, "run.dir", "runs/default", "Directory for this run's outputs.")                  \
  X(INT, run_seed, "run.seed", 1, "Seed for everything random in the run.")                        \
  X(INT, run_threads, "run.threads", 0, "CPU threads for compute; 0 = all cores.")                 \
  X(STR, log_level, "log.level", "info", "One of debug, info, warn, error.")                       \
  X(STR, model_path, "model.path", "",                                                             \
    "Hugging Face model directory (config.json, *.safetensors, tokenizer.json).")                  \
  X(STR, model_init, "model.init", "",                                                             \
    "When model.path is empty: tiny builds a fresh model from scratch (byte-level tokenizer, model.init_* sizes, seeded by run.seed; model/tiny.h); '' = model.path is required.") \
  X(STR, model_init_arch, "model.init_arch", "llama", "Fresh model: llama, qwen2 (q/k/v bias) or qwen3 (q/k norm).") \
  X(INT, model_init_layers, "model.init_layers", 2, "Fresh model: decoder layers.")                \
  X(INT, model_init_hidden, "model.init_hidden", 128, "Fresh model: hidden size (C).")             \
  X(INT, model_init_heads, "model.init_heads", 4, "Fresh model: attention heads; head dim = hidden / heads.") \
  X(INT, model_init_kv_heads, "model.init_kv_heads", 4, "Fresh model: key/value heads (GQA when fewer than heads).") \
  X(INT, model_init_intermediate, "model.init_intermediate", 384, "Fresh model: MLP hidden size (F).") \
  X(INT, model_init_max_position, "model.init_max_position", 256, "Fresh model: positions (prompt plus completion).") \
  X(FLOAT, model_init_rope_theta, "model.init_rope_theta", 10000.0, "Fresh model: RoPE base.")     \
  X(BOOL, model_init_tie_embeddings, "model.init_tie_embeddings", 1, "Fresh model: lm_head shares the embedding matrix.") \
  X(STR, task_source, "task.source", "arith",                                                      \
    "Where prompts come from: a generator (a name, NAME.lua in task.paths or tasks/generators/, or a path to a .lua file) or a JSONL dataset (any other path).") \
  X(STR, task_paths, "task.paths", "",                                                             \
    "Directories searched for generator scripts NAME.lua, ':'-separated, before the built-in tasks/generators/.") \
  X(STR, task_template, "task.template", "r1",                                                     \
    "Prompt template: r1 (R1-Zero text, <think> opened), r1_zero (the paper's text, ending at 'Assistant:'), plain, think (plain with the working in <think> tags), chat (the model's chat template), or a path to a template .lua file.") \
  X(INT, task_seed, "task.seed", 0,                                                                \
    "Seed of the training order (dataset shuffles, the generator's stream); 0 = run.seed.")        \
  X(INT, task_split_seed, "task.split_seed", 0,                                                    \
    "Seed of the held-out split; not tied to run.seed, so runs with different seeds are scored on the same problems.") \
  X(INT, task_heldout_size, "task.heldout_size", 500,                                              \
    "Generators: held-out problems (distinct prompts that training never sees).")                  \
  X(FLOAT, task_heldout_fraction, "task.heldout_fraction", 0.0,                                    \
    "Datasets without task.heldout_path: the fraction of records held out.")                       \
  X(STR, task_heldout_path, "task.heldout_path", "",                                               \
    "Datasets: a JSONL file for the held-out split (same field mapping).")                         \
  X(INT, task_digits, "task.digits", 2, "Generators: most digits of a number in a problem (difficulty.digits).") \
  X(INT, task_steps, "task.steps", 2, "Generators: operations per problem (difficulty.steps).")    \
  X(STR, task_options, "task.options", "",                                                         \
    "Generators: more difficulty settings, 'key=value,...' (integers, numbers, true/false or strings).") \
  X(STR, task_verifier, "task.verifier", "",                                                       \
    "Verifier of every item; '' = the generator's own, or math for a dataset.")                    \
  X(STR, task_prompt_field, "task.prompt_field", "question,problem,prompt",                        \
    "Datasets: the prompt's field; ','-separated candidates, the first present wins.")             \
  X(STR, task_answer_field, "task.answer_field", "answer,solution",                                \
    "Datasets: the answer's field; ','-separated candidates, the first present wins.")             \
  X(STR, task_answer_extract, "task.answer_extract", "auto",                                       \
    "Datasets: gsm8k (after the last '####'), boxed (the last \\boxed{}), none, or auto (by what the answer holds).") \
  X(STR, task_solution_field, "task.solution_field", "",                                           \
    "Datasets: a field with a worked solution; '' = what the answer extraction leaves.")           \
  X(STR, task_verifier_field, "task.verifier_field", "verifier",                                   \
    "Datasets: a field that, where a record has it, names the record's verifier.")                 \
  X(STR, task_id_field, "task.id_field", "id",                                                     \
    "Datasets: a field that, where a record has it, is its id (else file:line).")                  \
  X(STR, task_meta_fields, "task.meta_fields", "",                                                 \
    "Datasets: ','-separated fields copied into the verifier's meta object.")                      \
  X(STR, task_curriculum, "task.curriculum", "",                                                   \
    "Datasets: a pass-rate JSONL (rlvr select --pass-rates: id, correct, samples) that orders or weights the training records (docs/select.md, Curriculum); '' = none.") \
  X(STR, task_curriculum_order, "task.curriculum_order", "easy_first",                             \
    "With task.curriculum: easy_first (highest pass rate first each epoch, ties shuffled by the seed), hard_first, target (draws weighted by closeness to task.curriculum_target) or shuffle (drops only).") \
  X(FLOAT, task_curriculum_target, "task.curriculum_target", 0.5,                                  \
    "Curriculum order target: the pass rate drawn most often.")                                    \
  X(FLOAT, task_curriculum_width, "task.curriculum_width", 0.25,                                   \
    "Curriculum order target: weight exp(-(p - target)^2 / (2 width^2)).")                         \
  X(FLOAT, task_curriculum_missing, "task.curriculum_missing", 0.5,                                \
    "Curriculum: the pass rate of a training record whose id the file lacks.")                     \
  X(BOOL, task_curriculum_require_all, "task.curriculum_require_all", 0,                           \
    "Curriculum: a training record whose id the file lacks is an error.")                          \
  X(BOOL, task_curriculum_drop_solved, "task.curriculum_drop_solved", 0,                           \
    "Curriculum: leave out records of pass rate 1.")                                               \
  X(BOOL, task_curriculum_drop_unsolved, "task.curriculum_drop_unsolved", 0,                       \
    "Curriculum: leave out records of pass rate 0.")                                               \
  X(FLOAT, sample_temperature, "sample.temperature", 1.0,                                          \
    "Softmax temperature; 0 = greedy (argmax).")                                                   \
  X(INT, sample_top_k, "sample.top_k", 0, "Keep only the k most likely tokens; 0 = all.")          \
  X(FLOAT, sample_top_p, "sample.top_p", 1.0,                                                      \
    "Keep the smallest set of tokens whose probability reaches p; 1 = all.")                       \
  X(INT, sample_max_tokens, "sample.max_tokens", 64, "Most tokens generated per completion.")      \
  X(INT, sample_seed, "sample.seed", 0, "Sampler seed; 0 = derive from run.seed.")                 \
  X(STR, generate_prompt, "generate.prompt", "", "Prompt text for `rlvr generate`.")               \
  X(INT, generate_n, "generate.n", 1, "Completions per prompt for `rlvr generate`.")               \
  X(STR, generate_template, "generate.template", "none",                                           \
    "Chat template around the prompt: none, plain, chatml, qwen2.5, qwen3, llama3, or a path to a .lua template.")   \
  X(STR, rollout_connect, "rollout.connect", "",                                                   \
    "`rlvr rollout`: the learner's address, as learner.endpoint writes it (tcp://HOST:PORT, ipc:///PATH) or WORK,TRAJ,WEIGHTS endpoints in full.") \
  X(STR, rollout_id, "rollout.id", "", "Rollout worker id (its ZeroMQ routing id); '' = rollout-HOST-PID.") \
  X(INT, rollout_slots, "rollout.slots", 16,                                                       \
    "Sequences the rollout engine decodes at once (KV-cache slots); a finished one takes the next pending sample.") \
  X(INT, rollout_max_seq, "rollout.max_seq", 0,                                                    \
    "Positions per slot (prompt plus completion); 0 = the model's max_position_embeddings.")       \
  X(BOOL, rollout_share_prefill, "rollout.share_prefill", 1,                                       \
    "Prefill each prompt once and copy its KV cache to the group's other samples (off: prefill every sample).") \
  X(INT, rollout_max_groups, "rollout.max_groups", 4, "Prompt groups a rollout worker asks for in each work request.") \
  X(STR, rollout_format_verifier, "rollout.format_verifier", "format",                             \
    "Verifier that scores the format reward component (used when reward.format_weight is not 0).") \
  X(INT, rollout_weights_timeout_ms, "rollout.weights_timeout_ms", 60000,                          \
    "How long a worker waits for the policy version a work asks for before answering with an error.") \
  X(INT, rollout_max_works, "rollout.max_works", 0, "A worker leaves after this many works; 0 = at shutdown.") \
  X(STR, rollout_device, "rollout.device", "cpu",                                                  \
    "Where rollout workers, rlvr eval, rlvr select and train's evaluations generate: cpu, or cuda (GPU 0; needs a CUDA build and a GPU).") \
  X(STR, rollout_dtype, "rollout.dtype", "fp32",                                                    \
    "rollout.device = cuda: fp32, or bf16 (bf16 weights and activations, fp32 logits; samples differ from the CPU's by bf16 rounding).") \
  X(BOOL, rollout_device_sampling, "rollout.device_sampling", 1,                                   \
    "rollout.device = cuda: sample on the GPU (only tokens and log-probs come to the host; same seeds, same rules); false copies every logits row to the host and samples there (for debugging).") \
  X(INT, budget_min_think_tokens, "budget.min_think_tokens", 0,                                    \
    "s1 budget forcing: thinking that would end (budget.think_end) before this many tokens gets budget.wait inserted instead; 0 = off.") \
  X(INT, budget_max_waits, "budget.max_waits", 1, "s1 budget forcing: at most this many budget.wait insertions per completion.") \
  X(INT, budget_max_think_tokens, "budget.max_think_tokens", 0,                                    \
    "s1 budget forcing: thinking is cut after this many tokens and budget.answer_prefix appended; 0 = no cap.") \
  X(STR, budget_think_end, "budget.think_end", "</think>", "s1 budget forcing: the text that ends thinking.") \
  X(STR, budget_wait, "budget.wait", "Wait", "s1 budget forcing: the text inserted where thinking ended too early.") \
  X(STR, budget_answer_prefix, "budget.answer_prefix", " </think> <answer>",                      \
    "s1 budget forcing: the text appended when thinking is cut at budget.max_think_tokens.")       \
  X(STR, eval_split, "eval.split", "heldout", "`rlvr eval`: heldout or train (the training split in its stored order).") \
  X(INT, eval_size, "eval.size", 0, "`rlvr eval`: problems scored, from the split's start; 0 = the whole split (a generator's training split needs a size).") \
  X(INT, eval_samples, "eval.samples", 1, "`rlvr eval`: completions per problem (n); pass@k and maj@k use them.") \
  X(FLOAT, eval_temperature, "eval.temperature", 0.0, "`rlvr eval`: sampling temperature; 0 = greedy (then eval.samples should be 1).") \
  X(INT, eval_top_k, "eval.top_k", 0, "`rlvr eval`: keep the k most likely tokens; 0 = all.")      \
  X(FLOAT, eval_top_p, "eval.top_p", 1.0, "`rlvr eval`: nucleus sampling mass; 1 = all.")         \
  X(INT, eval_max_tokens, "eval.max_tokens", 0, "`rlvr eval`: most tokens per completion; 0 = sample.max_tokens.") \
  X(STR, eval_stop, "eval.stop", "", "`rlvr eval`: a stop string ('' = none; e.g. </answer>).")   \
  X(STR, eval_pass_k, "eval.pass_k", "",                                                           \
    "`rlvr eval`: ','-separated k of the pass@k reported; '' = 1, 2, 4, ... up to eval.samples, and eval.samples.") \
  X(BOOL, eval_budget, "eval.budget", 0, "`rlvr eval`: apply s1 budget forcing (budget.*) while sampling.") \
  X(STR, eval_output, "eval.output", "", "`rlvr eval`: JSONL file of every sample (text, tokens, score, answer); '' = none.") \
  X(STR, eval_summary, "eval.summary", "", "`rlvr eval`: JSON file for the summary (also printed); '' = print only.") \
  X(INT, eval_batch, "eval.batch", 0, "`rlvr eval`: problems per engine request; 0 = rollout.slots.") \
  X(INT, select_n, "select.n", 1000, "`rlvr select`: prompts to keep (N); fewer when fewer are eligible (noted in the summary).") \
  X(STR, select_split, "select.split", "train", "`rlvr select`, generators: the split the pool comes from (train or heldout).") \
  X(INT, select_pool, "select.pool", 0,                                                            \
    "`rlvr select`: records in the pool, from the start; 0 = the whole file (a generator's training split needs a size).") \
  X(INT, select_samples, "select.samples", 8, "`rlvr select`: completions sampled per prompt (k) for its pass rate.") \
  X(FLOAT, select_temperature, "select.temperature", 1.0,                                          \
    "`rlvr select`: sampling temperature (other sampling settings: eval.max_tokens, eval.top_k, eval.top_p, eval.stop, eval.batch).") \
  X(FLOAT, select_min_pass, "select.min_pass", 0.0, "`rlvr select`: drop prompts with a pass rate below this (too hard).") \
  X(FLOAT, select_max_pass, "select.max_pass", 1.0, "`rlvr select`: drop prompts with a pass rate above this (too easy).") \
  X(BOOL, select_keep_unsolved, "select.keep_unsolved", 0, "`rlvr select`: keep prompts no sample solved (pass rate 0).") \
  X(BOOL, select_keep_solved, "select.keep_solved", 0, "`rlvr select`: keep prompts every sample solved (pass rate 1).") \
  X(FLOAT, select_target, "select.target", 0.5,                                                    \
    "`rlvr select`: within a cluster, prompts whose pass rate is nearest this are taken first.")   \
  X(STR, select_cluster_field, "select.cluster_field", "",                                         \
    "`rlvr select`: ','-separated record fields (first present wins) that name a prompt's cluster, e.g. domain,tag,source; '' = answer kind and prompt-length tertile (docs/select.md).") \
  X(INT, select_max_prompt_tokens, "select.max_prompt_tokens", 0,                                  \
    "`rlvr select`: drop prompts longer than this many tokens after templating; 0 = only those that leave no room for the completion.") \
  X(BOOL, select_dedup, "select.dedup", 1, "`rlvr select`: drop prompts equal to an earlier one (case and whitespace ignored).") \
  X(BOOL, select_strict, "select.strict", 0, "`rlvr select`: a malformed record (missing or empty prompt or answer, bad field) is an error instead of a counted drop.") \
  X(STR, select_output, "select.output", "", "`rlvr select`: JSONL file of the kept records, each with its reasons (required).") \
  X(STR, select_summary, "select.summary", "", "`rlvr select`: JSON file for the summary (also printed); '' = print only.") \
  X(STR, select_dropped, "select.dropped", "", "`rlvr select`: JSONL file of every dropped record with its reason; '' = none.") \
  X(STR, select_pass_rates, "select.pass_rates", "", "`rlvr select`: JSONL file of every scored prompt's pass rate; '' = none.") \
  X(STR, select_rates_from, "select.rates_from", "",                                               \
    "`rlvr select`: take the pass rates from this file (a select.pass_rates of an earlier run) instead of sampling; '' = sample.") \
  X(INT, transport_hwm_work, "transport.hwm_work", 1000,                                           \
    "Messages queued per peer on the work channel (ROUTER/DEALER) before sends block.")            \
  X(INT, transport_hwm_traj, "transport.hwm_traj", 64,                                             \
    "Trajectory messages queued per worker (PUSH/PULL); a full queue blocks the worker.")          \
  X(INT, transport_hwm_weights, "transport.hwm_weights", 4,                                        \
    "Weights versions queued per subscriber (PUB/SUB); PUB drops a version when one is full.")     \
  X(INT, transport_max_msg_bytes, "transport.max_msg_bytes", 268435456,                            \
    "Largest work or trajectories message accepted (ZMQ_MAXMSGSIZE); bigger ones are dropped.")    \
  X(INT, transport_max_frame_bytes, "transport.max_frame_bytes", 8589934592,                       \
    "Largest frame (one tensor) a weights subscriber accepts (ZMQ_MAXMSGSIZE).")                   \
  X(INT, transport_send_timeout_ms, "transport.send_timeout_ms", 60000,                            \
    "A send blocked by a full queue gives up after this long (RLVR_ERR_TIMEOUT).")                 \
  X(INT, transport_linger_ms, "transport.linger_ms", 1000,                                         \
    "How long closing a socket waits for its queued messages to leave.")                           \
  X(INT, transport_heartbeat_ms, "transport.heartbeat_ms", 1000,                                   \
    "Interval of heartbeats between learner and workers (and of ZeroMQ's ZMTP heartbeats).")       \
  X(INT, transport_peer_timeout_ms, "transport.peer_timeout_ms", 10000,                            \
    "A peer not heard from for this long is reported dead.")                                       \
  X(STR, verify_paths, "verify.paths", "",                                                         \
    "Directories searched for verifier scripts NAME.lua, ':'-separated, before the built-in verifiers/.") \
  X(INT, verify_workers, "verify.workers", 0, "Verifier worker processes; 0 = one per CPU core.")  \
  X(INT, verify_timeout_ms, "verify.timeout_ms", 10000,                                            \
    "Wall-clock limit per verification; a worker past it is killed and replaced (status timeout).") \
  X(INT, verify_instructions, "verify.instructions", 100000000,                                    \
    "Lua instructions a verifier may run per item, and to load (status timeout past it).")        \
  X(INT, verify_memory_mb, "verify.memory_mb", 64,                                                 \
    "Memory budget of each verifier script's Lua state, MiB (status sandbox-error past it).")     \
  X(INT, verify_max_input_bytes, "verify.max_input_bytes", 1048576,                                \
    "Largest completion, reference or meta passed to a verifier; a longer completion is wrong-format.") \
  X(FLOAT, reward_accuracy_weight, "reward.accuracy_weight", 1.0,                                  \
    "Weight of the verifier's score (accuracy component) in the reward.")                          \
  X(FLOAT, reward_format_weight, "reward.format_weight", 0.0,                                      \
    "Weight of the format score (1 when the completion follows the template) in the reward.")      \
  X(FLOAT, reward_length_weight, "reward.length_weight", 0.0,                                      \
    "Weight of DAPO's soft overlong punishment, in [-1, 0], in the reward; 0 = off.")              \
  X(INT, reward_overlong_max, "reward.overlong_max", 0,                                            \
    "L_max of the overlong punishment, tokens (-1 beyond it); 0 = sample.max_tokens.")             \
  X(INT, reward_overlong_cache, "reward.overlong_cache", 0,                                        \
    "L_cache: the punishment falls linearly from 0 to -1 over the last L_cache tokens before L_max.") \
  X(STR, advantage_estimator, "advantage.estimator", "grpo",                                       \
    "grpo ((r - mean) / (sample std + eps)), dr_grpo (r - mean) or rloo (r - mean of the others).") \
  X(FLOAT, advantage_eps, "advantage.eps", 1e-4, "Added to the group's std by the grpo estimator.") \
  X(BOOL, advantage_dynamic_sampling, "advantage.dynamic_sampling", 0,                             \
    "Drop groups whose rewards are all equal and ask for more work until the batch is full (DAPO).") \
  X(STR, loss_aggregation, "loss.aggregation", "dapo",                                             \
    "grpo (token mean per sequence, then mean), dapo (token mean over the batch), dr_grpo (token sum / (sequences * loss.max_tokens)).") \
  X(STR, loss_ratio, "loss.ratio", "token",                                                        \
    "Importance ratio: token (PPO/GRPO) or sequence (GSPO: exp of the mean token log-ratio).")    \
  X(FLOAT, loss_eps_low, "loss.eps_low", 0.2, "Clip range lower side: ratio >= 1 - eps_low.")     \
  X(FLOAT, loss_eps_high, "loss.eps_high", 0.2,                                                    \
    "Clip range upper side: ratio <= 1 + eps_high (DAPO clip-higher: 0.28).")                      \
  X(FLOAT, loss_beta, "loss.beta", 0.0,                                                            \
    "Weight of the k3 KL estimate to the frozen reference; 0 = no reference model.")               \
  X(INT, loss_max_tokens, "loss.max_tokens", 0,                                                    \
    "Per-sequence constant of the dr_grpo normaliser; 0 = sample.max_tokens.")                     \
  X(BOOL, loss_mask_truncated, "loss.mask_truncated", 0,                                           \
    "Leave completions cut at max tokens (finish reason length) out of the loss.")                 \
  X(FLOAT, loss_tis_cap, "loss.tis_cap", 0.0,                                                      \
    "Truncated importance sampling: weight min(exp(logp_old - logp_sampler), cap); 0 = off.")      \
  X(INT, train_steps, "train.steps", 100, "GRPO steps: optimizer batches, each publishing a new policy version.") \
  X(INT, train_prompts_per_step, "train.prompts_per_step", 8, "Prompt groups in each step's batch.") \
  X(INT, train_group_size, "train.group_size", 8, "Completions sampled per prompt (G).")           \
  X(INT, train_micro_batch, "train.micro_batch", 16,                                               \
    "Completions per forward/backward pass; gradients accumulate over a step's micro-batches.")    \
  X(INT, train_updates_per_batch, "train.updates_per_batch", 1,                                    \
    "Optimizer steps on each batch (GRPO's mu); the ratio departs from 1 from the second on.")      \
  X(INT, train_max_off_policy_steps, "train.max_off_policy_steps", 0,                              \
    "Oldest policy a group may be sampled with, in versions behind the current one; 0 = strictly on-policy. Older groups are dropped and counted.") \
  X(INT, train_max_groups_factor, "train.max_groups_factor", 4,                                    \
    "Dynamic sampling: at most this many times train.prompts_per_step groups are sampled for one step; then zero-spread groups fill the batch.") \
  X(INT, train_workers, "train.workers", 1, "Rollout worker processes that `rlvr train` starts on this machine.") \
  X(STR, train_worker_command, "train.worker_command", "",                                         \
    "Program `rlvr train` runs for each worker, followed by --connect ENDPOINT --id ID and the config; '' = this binary's `rollout`.") \
  X(BOOL, train_eval, "train.eval", 1, "Evaluate on the held-out split (greedy) before and after training; written to summary.json.") \
  X(INT, train_eval_size, "train.eval_size", 0, "Held-out problems evaluated; 0 = task.heldout_size.") \
  X(INT, train_samples_per_step, "train.samples_per_step", 2,                                      \
    "Completions of each step written to samples.jsonl with their provenance; 0 = none.")         \
  X(BOOL, train_report, "train.report", 1, "Write report.html (plots of the metrics) at the end of the run.") \
  X(STR, learner_endpoint, "learner.endpoint", "tcp://127.0.0.1:*",                                \
    "Where the learner binds: tcp://HOST:PORT (work on PORT, trajectories PORT+1, weights PORT+2; * = free ports), or ipc:///PATH (PATH.work, PATH.traj, PATH.weights).") \
  X(STR, learner_device, "learner.device", "cpu",                                                  \
    "Where the learner's forward, backward and AdamW run: cpu, or cuda (GPU 0; needs a CUDA build and a GPU).") \
  X(STR, learner_dtype, "learner.dtype", "fp32",                                                    \
    "learner.device = cuda: fp32, or bf16 (bf16 weights and activations, fp32 master weights, gradients and moments).") \
  X(STR, learner_weight_sync, "learner.weight_sync", "zmq",                                        \
    "How new weights reach the rollout workers: zmq (host fp32 over the weights socket; any devices), nccl (GPU to GPU by NCCL broadcast, also across nodes) or ipc (CUDA IPC: learner and workers on one GPU). nccl and ipc carry bf16: they need learner.device = cuda, rollout.device = cuda and rollout.dtype = bf16 (docs/cuda.md, Weight sync).") \
  X(INT, learner_weight_sync_timeout_ms, "learner.weight_sync_timeout_ms", 60000,                  \
    "nccl, ipc: how long joining a communicator, one version's transfer or a worker's acknowledgement may take; past it the transfer is abandoned with an error and the learner goes on with the workers that answer.") \
  X(INT, learner_weight_sync_bucket_bytes, "learner.weight_sync_bucket_bytes", 67108864,           \
    "nccl: bytes per broadcast call (a multiple of 256); the bf16 weights go in buckets of this size.") \
  X(INT, checkpoint_every, "checkpoint.every", 0, "Steps between training checkpoints; 0 = only at the end and at exit.") \
  X(INT, checkpoint_keep, "checkpoint.keep", 2, "Training checkpoints kept in RUN/checkpoints (older ones are deleted).") \
  X(BOOL, checkpoint_at_exit, "checkpoint.at_exit", 1, "Write a checkpoint when SIGINT or SIGTERM stops the run.") \
  X(FLOAT, optim_beta1, "optim.beta1", 0.9, "AdamW beta1.")                                         \
  X(FLOAT, optim_beta2, "optim.beta2", 0.999, "AdamW beta2.")                                       \
  X(FLOAT, optim_eps, "optim.eps", 1e-8, "AdamW epsilon.")                                          \
  X(FLOAT, optim_weight_decay, "optim.weight_decay", 0.0, "AdamW decoupled weight decay of the 2-D tensors.") \
  X(FLOAT, optim_max_grad_norm, "optim.max_grad_norm", 1.0, "Gradient-norm clipping before each optimizer step; 0 = off.") \
  X(FLOAT, optim_lr, "optim.lr", 1e-6, "Peak learning rate.")                                      \
  X(STR, optim_schedule, "optim.schedule", "constant",                                             \
    "Learning rate after warmup: constant, or cosine down to optim.min_lr_ratio * optim.lr.")     \
  X(INT, optim_warmup_steps, "optim.warmup_steps", 0,                                              \
    "Optimizer steps of linear warmup: step k (from 0) uses lr * (k + 1) / warmup_steps.")          \
  X(FLOAT, optim_min_lr_ratio, "optim.min_lr_ratio", 0.0,                                          \
    "Floor of the cosine schedule, as a fraction of optim.lr.") \
  X(STR, sft_data, "sft.data", "",                                                                 \
    "rlvr sft: a JSONL file of {prompt, completion} pairs (optional chat: true); '' = worked examples of task.source with task.template.") \
  X(INT, sft_examples, "sft.examples", 1000,                                                       \
    "rlvr sft: examples to train on: the first N lines of sft.data (0 = all) or N items of the generator's training stream.") \
  X(INT, sft_seed, "sft.seed", 0,                                                                 \
    "rlvr sft: seed of the order the task examples are drawn in; 0 = the learner's order seed + 1, so that GRPO's first prompts are not the warm start's.") \
  X(FLOAT, sft_epochs, "sft.epochs", 1.0, "rlvr sft: passes over the examples (fractions allowed).") \
  X(INT, sft_steps, "sft.steps", 0, "rlvr sft: optimizer steps; 0 = ceil(sft.epochs * examples / sft.batch_size).") \
  X(INT, sft_batch_size, "sft.batch_size", 32, "rlvr sft: examples per optimizer step.")             \
  X(INT, sft_micro_batch_size, "sft.micro_batch_size", 0,                                          \
    "rlvr sft: examples per forward/backward (gradients accumulate); 0 = sft.batch_size.")         \
  X(FLOAT, sft_lr, "sft.lr", 1e-3, "rlvr sft: peak learning rate (AdamW, betas 0.9 and 0.95, eps 1e-8).") \
  X(STR, sft_schedule, "sft.schedule", "cosine", "rlvr sft: constant, or cosine down to sft.min_lr_ratio * sft.lr.") \
  X(INT, sft_warmup_steps, "sft.warmup_steps", 10, "rlvr sft: steps of linear warmup.")             \
  X(FLOAT, sft_min_lr_ratio, "sft.min_lr_ratio", 0.1, "rlvr sft: floor of the cosine schedule, as a fraction of sft.lr.") \
  X(FLOAT, sft_weight_decay, "sft.weight_decay", 0.0, "rlvr sft: AdamW weight decay of the 2-D tensors.") \
  X(FLOAT, sft_max_grad_norm, "sft.max_grad_norm", 1.0, "rlvr sft: gradient-norm clipping; 0 = off.") \
  X(INT, sft_max_len, "sft.max_len", 0,                                                            \
    "rlvr sft: most tokens of an example (prompt, completion and EOS); a longer one is an error; 0 = the model's positions.") \
  X(BOOL, sft_shuffle, "sft.shuffle", 1, "rlvr sft: shuffle the examples each epoch (seeded by run.seed); false = file order.") \
  X(INT, sft_save_every, "sft.save_every", 0, "rlvr sft: also save the model every N steps; 0 = only at the end.") \
  X(INT, sft_log_every, "sft.log_every", 10, "rlvr sft: steps between log lines when stderr is not a terminal.") \
  X(INT, sft_eval_size, "sft.eval_size", 0,                                                        \
    "rlvr sft: held-out problems of task.source scored after training (greedy); 0 = no evaluation.") \
  X(INT, sft_eval_every, "sft.eval_every", 0, "rlvr sft: also evaluate every N steps; 0 = only at the end.") \
  X(INT, sft_eval_samples, "sft.eval_samples", 0,                                                  \
    "rlvr sft: also sample this many completions per held-out problem (sample.*): sampled accuracy, pass@k, groups with mixed rewards.")

#define RLVR_CONFIG_CTYPE_INT int64_t
#define RLVR_CONFIG_CTYPE_FLOAT double
#define RLVR_CONFIG_CTYPE_BOOL int
#define RLVR_CONFIG_CTYPE_STR char *

typedef struct {
#define RLVR_CONFIG_X(T, name, key, def, doc) RLVR_CONFIG_CTYPE_##T name;
  RLVR_CONFIG_FIELDS(RLVR_CONFIG_X)
#undef RLVR_CONFIG_X
} rlvr_config;

/* Fills every field with its default. Free with rlvr_config_free. */
void rlvr_config_init(rlvr_config *c);
void rlvr_config_free(rlvr_config *c);

/* Runs the Lua file at path, which must return a table, and merges it over c.
 * On error (syntax, runtime, unknown key, wrong type) returns RLVR_ERR_CONFIG
 * with a message naming the file and the key; c is unchanged. */
int rlvr_config_load(rlvr_config *c, const char *path);

/* Applies one "dotted.key=value" override; same errors, c unchanged on error. */
int rlvr_config_set(rlvr_config *c, const char *assignment);

/* Writes the resolved config as a Lua file that rlvr_config_load reads back. */
int rlvr_config_save(const rlvr_config *c, const char *path);

/* Prints every key with its type, default and documentation, as markdown
 * (the docs/config.md reference) or as a Lua file of defaults. */
void rlvr_config_print_reference(FILE *f);
void rlvr_config_print_lua(const rlvr_config *c, FILE *f);

/* The valid key nearest to name (edit distance), for error messages. */
const char *rlvr_config_nearest_key(const char *name);

#endif
