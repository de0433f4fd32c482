/* Shared between the intent_*.c files; not part of the public interface. */
#ifndef FERRY_INTENT_INT_H
#define FERRY_INTENT_INT_H

#include "ferry/intent.h"

/* intent_plan_timeouts with the error path rooted at `path` ("intent", "body.intent"). */
enum ferry_err intent_plan_timeouts_at(struct intent *it, const struct intent_dir *dir, uint64_t now,
                                       const char *path, char err[INTENT_ERR_MAX]) FERRY_WUR;

#endif
