/* chat.h — chat templates: Lua functions that turn a conversation into the
 * prompt text a model was trained on.
 *
 * A template is a Lua file that returns
 *     function(messages, add_generation_prompt) ... return text end
 * where messages is an array of {role = "...", content = "..."} and
 * add_generation_prompt a boolean (true: end with the opening of an assistant
 * turn, as transformers' apply_chat_template does). rlvr ships, in
 * model/templates/:
 *   chatml    <|im_start|>role\ncontent<|im_end|>\n, no default system prompt
 *   qwen2.5   Qwen2.5's template without tools (default system prompt; tool
 *             results folded into a user turn)
 *   qwen3     Qwen3's template without tools (<think> blocks kept only after
 *             the last user query)
 *   llama3    Meta-Llama-3-Instruct's template (writes <|begin_of_text|>
 *             itself: encode the result with add_special off)
 *   plain     "User: ...\n\nAssistant: ..." for models without chat tokens
 * Each is checked against transformers' rendering of the original Jinja
 * template (tests/tokenizer/test_chat.c). Users add their own the same way.
 *
 * Templates run in their own Lua state with only the base (less dofile,
 * loadfile, load, print), string and table libraries, a 64 MiB memory budget
 * and an instruction budget per call, so a broken template is an error, not
 * a hang. A template object is not thread-safe: one per thread. */
#ifndef RLVR_CHAT_H
#define RLVR_CHAT_H

#include <stddef.h>

typedef struct rlvr_chat_template rlvr_chat_template;

typedef struct {
  const char *role;    /* "system", "user", "assistant", "tool", ... */
  const char *content; /* UTF-8 text, NUL-terminated */
} rlvr_chat_message;

/* Loads a template. name_or_path is a path when it contains '/' or ends in
 * ".lua"; otherwise a name ([A-Za-z0-9_.-], not starting with '.') looked up
 * as <search_dir>/<name>.lua. The binary passes RLVR_SOURCE_DIR
 * "/model/templates"; tests run from the source root and pass "model/templates".
 * On success *out owns the template. On error returns RLVR_ERR_ARG (bad name),
 * RLVR_ERR_IO (no such file; the message says where it looked) or
 * RLVR_ERR_SCRIPT (the file does not compile or does not return a function);
 * *out untouched. */
int rlvr_chat_load_template(const char *name_or_path, const char *search_dir,
                            rlvr_chat_template **out);

/* Renders n messages. On success *out is a malloc'ed NUL-terminated string the
 * caller frees, *out_len its length. On error (the template raised an error,
 * returned something other than a string, or ran out of its instruction or
 * memory budget) returns RLVR_ERR_SCRIPT with the Lua message and traceback;
 * *out untouched. */
int rlvr_chat_apply(rlvr_chat_template *t, const rlvr_chat_message *messages, size_t n,
                    int add_generation_prompt, char **out, size_t *out_len);

/* The name or path it was loaded by. */
const char *rlvr_chat_template_name(const rlvr_chat_template *t);

/* Accepts NULL. */
void rlvr_chat_free_template(rlvr_chat_template *t);

#endif
