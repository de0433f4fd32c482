/* The orchestrator's internals, shared by src/orch*.c (nothing else includes this). */
#ifndef FERRY_ORCH_INTERNAL_H
#define FERRY_ORCH_INTERNAL_H

#include "ferry/orch.h"
#include "ferry/store.h"

#define ORCH_RECORD_VERSION 1

/* The store's meta keys: the next journal id, and one key per paused chain. */
#define ORCH_META_JOURNAL "orch.journal_next"
#define ORCH_META_PAUSED "orch.paused."

void orch_intent_key(struct store_key *k, const uint8_t id[32]);
void orch_meta_key(struct store_key *k, const char *name, const char *suffix);

/* The record as stored (malloc'd JSON text, *len its length); NULL on no memory. */
char *orch_record_encode(const struct intent_record *r, size_t *len);
enum ferry_err orch_record_decode(struct intent_record *out, const uint8_t *v, size_t n) FERRY_WUR;
/* A funds object (NULL: JSON null when unknown) with chain names when dir is given. */
cJSON *orch_funds_json(const struct orch_funds *f, const struct intent_dir *dir);
/* The owner's index field (the address left-padded to 32 bytes). */
void orch_owner_field(uint8_t out[32], const uint8_t owner[ADDRESS_LEN]);

/* ---- the running orchestrator ---- */

struct ochain {
    const struct chain_ops *ops;
    struct chain *c;
    uint64_t id;
    char name[64];
    bool paused;            /* by an operator (persisted) */
    struct chain_head head;
    /* the earliest deadline (unix s) of a live intent judged on this chain that its head has not
     * reached yet, as of the last orch_tick (0: none): a head reaching it kicks */
    uint64_t due_at;
    /* the observed block interval: an exponential moving average over heads (docs/intents.md,
     * "Timeouts"), measured from an anchor head that moves once the timestamp has advanced */
    uint64_t bt_num, bt_ts;  /* the anchor (0: none yet) */
    double bt_ms;            /* the average, ms per block */
    uint32_t bt_samples;
};



/* Why a call is being made: the letter in its submission id. */
enum sub_kind { SUB_OPEN = 'o', SUB_ADVANCE = 'a', SUB_REFUND = 'r', SUB_CANCEL = 'c' };

/* An intent the orchestrator holds: its record and what is in flight about it. */
struct irec {
    struct intent_record r;
    enum intent_state indexed; /* the state its index entry holds (as of the batches built so far) */
    bool dirty;                /* changed in the batch being built */
    bool querying;             /* a query_intent is in flight */
    bool verify;               /* ask the chain before submitting anything again (after a failure, a restart) */
    bool recheck_dst;          /* the next recheck of a hop in flight asks its destination */
    uint64_t query_next_at;    /* do not ask again before this */
    /* a failed submission whose cost is decided once the chain has been asked */
    char fail_kind;            /* 0: none */
    uint32_t fail_step;
    char fail_why[ORCH_REASON_MAX];
    /* the last refund hop sent home (RefundSent), for its TransferReceived there (not persisted) */
    uint64_t refund_chain, refund_seq;
};

/* A transfer an intent sent, by (source chain, sequence): the vault's TransferRefunded and
 * TransferReceived name no intent, and the latter comes for every transfer a chain receives, so
 * they are matched here in O(1) rather than by a scan. Entries live as long as the intent is
 * held. */
struct oseq {
    bool used;
    uint64_t chain, seq;
    uint8_t id[32];
    int hop;                /* the hop's index; -1: a refund hop home */
    bool got;               /* refund hop: its TransferReceived was seen (what the owner got) */
    uint8_t token[ADDRESS_LEN];
    uint8_t amount[32];
};

enum act_kind { ACT_SUBMIT, ACT_FORGET };

struct oact {
    enum act_kind kind;
    uint8_t id[32];
    char sub[ORCH_SUB_ID_MAX];
};

/* One store batch and what follows from it; orphans (o == NULL) only free themselves. */
struct otxn {
    struct orch *o;
    struct otxn *prev, *next;
    struct store_batch *b;
    struct oact *a;
    size_t na, aalloc;
    uint64_t last_event;    /* the highest journal id in the batch (0: none) */
    orch_submit_cb *cb;     /* orch_submit's callback, once durable */
    void *cb_ud;
    uint8_t cb_id[32];
};

/* A query_intent in flight (the callback's ud); orphaned (o == NULL) when the orchestrator is freed. */
struct oquery {
    struct orch *o;
    struct oquery *prev, *next;
    uint8_t id[32];
    uint64_t chain;
};

struct orch {
    struct orch_config cfg;
    struct intent_chain_info *dir_chains; /* cfg.dir.chains points here (names owned) */
    struct ochain *chains;
    size_t nchains;

    struct irec **tab; /* by id: open addressing, linear probing, power-of-two capacity */
    size_t cap, count;
    size_t per_state[INTENT_STATE__COUNT];

    struct otxn *txns;
    struct otxn *building;
    struct irec **dirty;
    size_t ndirty, dirty_alloc;
    struct oquery *queries;
    size_t nqueries, nsubs;
    struct oseq *seqs;      /* open addressing, linear probing, power-of-two capacity */
    size_t seq_cap, seq_count;

    uint64_t next_event;    /* the next journal id to give */
    uint64_t durable_event; /* the last one made durable */
    uint64_t now;
    bool started;
    bool kicked;            /* a kick was asked for since the last orch_tick */
    enum ferry_err failed;

    struct metric *m_transitions, *m_hop_transitions, *m_intents, *m_submissions;
};

/* orch.c */
struct irec *orch_find(struct orch *o, const uint8_t id[32]);
struct ochain *orch_chain(struct orch *o, uint64_t id);
struct otxn *otxn_begin(struct orch *o);
void otxn_commit(struct otxn *t);
void orch_fail(struct orch *o, enum ferry_err err, const char *what);
/* Asks the daemon for an orch_tick soon (once until that tick). */
void orch_kick(struct orch *o);
enum ferry_err orch_insert(struct orch *o, struct irec *ir);
void orch_save(struct orch *o, struct otxn *t, struct irec *ir);
enum ferry_err intent_set_state(struct orch *o, struct otxn *t, struct irec *ir, enum intent_state to,
                                const char *reason, const uint8_t *tx);
enum ferry_err hop_set_state(struct orch *o, struct otxn *t, struct irec *ir, uint32_t i, enum hop_state to,
                             const char *reason, const uint8_t *tx);
void orch_drive(struct orch *o, struct otxn *t, struct irec *ir);
void orch_note_due(struct orch *o, const struct irec *ir);
/* orch_start: intents whose records name a submission on a chain not added go STUCK. */
void orch_orphan_subs(struct orch *o);
/* Remembers that (chain, seq) is hop `hop` (-1: a refund hop) of intent ir; false on no memory
 * (the orchestrator is then stopped). */
bool orch_seq_put(struct orch *o, uint64_t chain, uint64_t seq, const struct irec *ir, int hop);
struct oseq *orch_seq_find(struct orch *o, uint64_t chain, uint64_t seq);
void irec_free(struct irec *ir);

#endif
