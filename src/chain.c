/* The table of chain families, in the manner of curl's protocol handlers: each family
 * (chains/<name>/) exports one const struct chain_ops, declared here and listed below. The
 * core includes nothing from inside chains/. */
#include "ferry/chain.h"

#include <string.h>

/* Add one line per family, e.g. `extern const struct chain_ops evm_chain_ops;` here and
 * `&evm_chain_ops,` in the table. */

extern const struct chain_ops evm_chain_ops;

static const struct chain_ops *const families[] = {
    &evm_chain_ops,
    NULL,
};

const struct chain_ops *const *chain_families(void) { return families; }

const struct chain_ops *chain_family(const char *name)
{
    for (size_t i = 0; name && families[i]; i++)
        if (!strcmp(families[i]->name, name))
            return families[i];
    return NULL;
}

enum ferry_err chain_ops_check(const struct chain_ops *ops)
{
    if (!ops)
        return ferry_fail(FERRY_EINVAL, "chain family: no operations table");
    const char *name = ops->name && *ops->name ? ops->name : "(unnamed)";
#define REQUIRE(field)                                                                           \
    if (!ops->field)                                                                             \
        return ferry_fail(FERRY_EINVAL, "chain family \"%s\": no %s", name, #field);
    if (!ops->name || !*ops->name)
        return ferry_fail(FERRY_EINVAL, "chain family: no name");
    REQUIRE(open)
    REQUIRE(check_config)
    REQUIRE(start)
    REQUIRE(stop)
    REQUIRE(close)
    REQUIRE(chain_id)
    REQUIRE(chain_name)
    REQUIRE(head)
    REQUIRE(attest_digest)
    REQUIRE(packet_id)
    REQUIRE(submit)
    REQUIRE(submission)
    REQUIRE(query_received)
    REQUIRE(query_pending)
    REQUIRE(events_done)
    REQUIRE(resume)
    REQUIRE(status)
#undef REQUIRE
    return FERRY_OK;
}

const char *chain_event_kind_name(enum chain_event_kind k)
{
    static const char *const names[] = {"packet_sent", "packet_received", "packet_skipped", "packet_acked",
                                        "packet_timed_out"};
    return (unsigned)k < CHAIN_EV__COUNT ? names[k] : "unknown";
}

const char *chain_submission_state_name(enum chain_submission_state s)
{
    static const char *const names[] = {"pending", "mined", "confirmed", "reverted", "refused", "unknown"};
    return (unsigned)s <= CHAIN_SUB_UNKNOWN ? names[s] : "invalid";
}

const char *chain_call_kind_name(enum chain_call_kind k)
{
    static const char *const names[] = {"deliver", "ack", "timeout", "raw", "router"};
    return (unsigned)k < CHAIN_CALL__COUNT ? names[k] : "unknown";
}
