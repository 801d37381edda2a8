/* template.h — prompt templates: the text around a task's prompt, and the
 * completion a worked example is written as (for the supervised warm start).
 *
 * A template is a Lua file that returns
 *
 *   return {
 *     name = "r1",
 *     prompt = "... User: {prompt}. Assistant: <think>",
 *     completion = " {solution} </think> <answer> {answer} </answer>",  -- optional
 *     chat = false,                                                      -- optional
 *   }
 *
 * {prompt}, {solution} and {answer} are replaced in one pass (a prompt that
 * itself contains "{answer}" is not touched again); any other brace is
 * literal text. With chat = true the caller wraps the result of
 * rlvr_task_template_prompt in the model's chat template (model/chat.h) as
 * the user's message, and the completion is the assistant's.
 *
 * Names: r1, r1_zero, plain and chat are the built-in files
 * tasks/templates/NAME.lua; anything containing '/' or ending in ".lua" is a
 * path to the user's own file. */
#ifndef RLVR_TEMPLATE_H
#define RLVR_TEMPLATE_H

#include "tasks/task.h"

typedef struct rlvr_task_template rlvr_task_template;

/* Loads the template called name (see above); tasks_dir is the built-in
 * tasks/ directory. Errors: RLVR_ERR_CONFIG for an unknown name,
 * RLVR_ERR_IO, RLVR_ERR_SCRIPT naming the file (bad Lua, missing or
 * mistyped field, a prompt without {prompt}). */
int rlvr_task_template_load(const char *name, const char *tasks_dir, rlvr_task_template **out);
void rlvr_task_template_free(rlvr_task_template *t); /* accepts NULL */

const char *rlvr_task_template_name(const rlvr_task_template *t);
/* 1 when the caller must apply the model's chat template around the prompt. */
int rlvr_task_template_is_chat(const rlvr_task_template *t);

/* The templated prompt; *out malloc'd. Cannot fail. */
char *rlvr_task_template_prompt(const rlvr_task_template *t, const char *prompt);

/* The target completion of a worked example: the template's completion
 * with the item's solution and answer. RLVR_ERR_ARG when the template has
 * no completion or the item no solution; *out malloc'd on success. */
int rlvr_task_template_completion(const rlvr_task_template *t, const rlvr_task_item *item, char **out);

#endif
