/* The intent orchestrator (include/ferry/orch.h). First cut: the API exists so that callers link;
 * every operation reports FERRY_EUNSUPPORTED until it is filled in. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "ferry/orch.h"

static const char *const istate_names[INTENT_STATE__COUNT] = {
    "NONE", "PENDING", "OPEN", "IN_PROGRESS", "COMPLETED", "REFUNDING", "REFUNDED", "STUCK", "CANCELLED",
};
static const char *const hstate_names[HOP_STATE__COUNT] = {
    "NONE", "WAITING", "SUBMITTED", "CONFIRMED", "IN_FLIGHT", "ARRIVED", "DONE", "FAILED", "TIMED_OUT", "REFUNDED",
};

const char *intent_state_name(enum intent_state s)
{
    return (unsigned)s < INTENT_STATE__COUNT ? istate_names[s] : "?";
}

const char *hop_state_name(enum hop_state s) { return (unsigned)s < HOP_STATE__COUNT ? hstate_names[s] : "?"; }

enum ferry_err intent_state_parse(const char *s, enum intent_state *out)
{
    for (int i = 1; i < INTENT_STATE__COUNT; i++)
        if (s && strcasecmp(s, istate_names[i]) == 0) {
            *out = (enum intent_state)i;
            return FERRY_OK;
        }
    return ferry_fail(FERRY_EINVAL, "unknown intent state \"%s\"", s ? s : "");
}

enum ferry_err hop_state_parse(const char *s, enum hop_state *out)
{
    for (int i = 1; i < HOP_STATE__COUNT; i++)
        if (s && strcasecmp(s, hstate_names[i]) == 0) {
            *out = (enum hop_state)i;
            return FERRY_OK;
        }
    return ferry_fail(FERRY_EINVAL, "unknown hop state \"%s\"", s ? s : "");
}

bool intent_state_terminal(enum intent_state s)
{
    return s == INTENT_COMPLETED || s == INTENT_REFUNDED || s == INTENT_CANCELLED;
}

bool hop_state_terminal(enum hop_state s) { return s == HOP_DONE || s == HOP_REFUNDED; }

void intent_record_clear(struct intent_record *r)
{
    for (size_t i = 0; i < r->intent.n_steps && i < INTENT_MAX_STEPS; i++)
        free(r->intent.steps[i].data);
    memset(r, 0, sizeof *r);
}

cJSON *intent_record_to_json(const struct intent_record *r, const struct intent_dir *dir)
{
    (void)r;
    (void)dir;
    return NULL;
}

enum ferry_err intent_record_from_json(struct intent_record *out, const cJSON *j)
{
    (void)out;
    (void)j;
    return ferry_fail(FERRY_EUNSUPPORTED, "intent records: not implemented yet");
}

enum ferry_err intent_record_load(struct store *st, const uint8_t id[32], struct intent_record *out)
{
    (void)st;
    (void)id;
    (void)out;
    return ferry_fail(FERRY_EUNSUPPORTED, "intent records: not implemented yet");
}

enum ferry_err intent_list(struct store *st, const struct intent_filter *f, const char *after, size_t limit,
                           intent_list_fn *fn, void *arg, char next[INTENT_CURSOR_MAX])
{
    (void)st, (void)f, (void)after, (void)limit, (void)fn, (void)arg;
    next[0] = '\0';
    return ferry_fail(FERRY_EUNSUPPORTED, "intent listing: not implemented yet");
}

enum ferry_err orch_events_read(struct store *st, uint64_t after, size_t limit, orch_event_fn *fn, void *arg,
                                uint64_t *last)
{
    (void)st, (void)limit, (void)fn, (void)arg;
    *last = after;
    return ferry_fail(FERRY_EUNSUPPORTED, "intent journal: not implemented yet");
}

struct orch {
    struct orch_config cfg;
};

void orch_config_default(struct orch_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->retry_limit = 6;
    cfg->backoff_base_s = 5;
    cfg->backoff_max_s = 300;
    cfg->recheck_s = 30;
    cfg->max_pending = 10000;
}

enum ferry_err orch_new(struct orch **out, const struct orch_config *cfg)
{
    *out = NULL;
    struct orch *o = calloc(1, sizeof *o);
    if (!o)
        return ferry_fail(FERRY_ENOMEM, "orch: out of memory");
    o->cfg = *cfg;
    *out = o;
    return FERRY_OK;
}

void orch_free(struct orch *o) { free(o); }

enum ferry_err orch_add_chain(struct orch *o, const struct chain_ops *ops, struct chain *c)
{
    (void)o, (void)ops, (void)c;
    return FERRY_OK;
}

enum ferry_err orch_start(struct orch *o, uint64_t now)
{
    (void)o, (void)now;
    return FERRY_OK;
}

enum ferry_err orch_tick(struct orch *o, uint64_t now)
{
    (void)o, (void)now;
    return FERRY_OK;
}

enum ferry_err orch_failed(const struct orch *o)
{
    (void)o;
    return FERRY_OK;
}

void orch_on_intent_events(struct orch *o, struct chain *c, const struct chain_intent_event *ev, size_t n)
{
    (void)o, (void)c, (void)ev, (void)n;
}

bool orch_on_submission(struct orch *o, struct chain *c, const struct chain_submission *s)
{
    (void)o, (void)c;
    return strncmp(s->id, ORCH_SUB_PREFIX, strlen(ORCH_SUB_PREFIX)) == 0;
}

void orch_on_head(struct orch *o, struct chain *c, const struct chain_head *h) { (void)o, (void)c, (void)h; }

static enum ferry_err unsupported(char err[ORCH_ERR_MAX])
{
    snprintf(err, ORCH_ERR_MAX, "intents: not implemented yet");
    return ferry_fail(FERRY_EUNSUPPORTED, "intents: not implemented yet");
}

enum ferry_err orch_prepare(struct orch *o, const cJSON *intent, uint64_t now, cJSON **out, char err[ORCH_ERR_MAX])
{
    (void)o, (void)intent, (void)now;
    *out = NULL;
    return unsupported(err);
}

enum ferry_err orch_submit(struct orch *o, const cJSON *intent, const char *sig_hex, uint64_t now, orch_submit_cb *cb,
                           void *ud, char err[ORCH_ERR_MAX])
{
    (void)o, (void)intent, (void)sig_hex, (void)now, (void)cb, (void)ud;
    return unsupported(err);
}

enum ferry_err orch_get(struct orch *o, const uint8_t id[32], struct intent_record *out)
{
    (void)o, (void)id, (void)out;
    return ferry_fail(FERRY_ENOTFOUND, "intent not found");
}

enum ferry_err orch_retry(struct orch *o, const uint8_t id[32], uint64_t now, char err[ORCH_ERR_MAX])
{
    (void)o, (void)id, (void)now;
    return unsupported(err);
}

enum ferry_err orch_cancel(struct orch *o, const uint8_t id[32], uint64_t now, char err[ORCH_ERR_MAX])
{
    (void)o, (void)id, (void)now;
    return unsupported(err);
}

enum ferry_err orch_pause_chain(struct orch *o, const char *name, bool paused, char err[ORCH_ERR_MAX])
{
    (void)o, (void)name, (void)paused;
    return unsupported(err);
}

bool orch_chain_paused(const struct orch *o, const char *name)
{
    (void)o, (void)name;
    return false;
}

uint64_t orch_last_event(const struct orch *o)
{
    (void)o;
    return 0;
}

void orch_stats(const struct orch *o, struct orch_stats *out)
{
    (void)o;
    memset(out, 0, sizeof *out);
}
