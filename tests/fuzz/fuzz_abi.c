/* libFuzzer harness for ferry/abi.h: decoding hostile data, type and signature strings, event logs
 * and value text. Nothing may crash or leak; whatever decodes must re-encode and decode to the same
 * value, the allocation-free decoders must agree with the tree decoders, and text must round-trip.
 * Input: byte 0 picks the mode (below), the rest is that mode's input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/abi.h"
#include "fuzz_util.h"

static const char *const type_texts[] = {
    "(uint8,int16,address,bool,bytes3,bytes,string,uint256[],(uint64,bytes)[2])",
    "(uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)",
    "((uint8,string),(bytes,(bool,string[]))[],uint16)",
    "(string[3],bytes[2][2],uint8[2][3],uint16[][])",
    "(int8[],int256[2],(int32,uint32)[])",
    "(uint8[][][])",
    "((uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)[],bytes[])",
    "(address,bool,bytes32,int8,uint256)",
    "bytes",
    "uint16",
    "string[]",
    "(bytes)",
};
#define N_TYPES (sizeof type_texts / sizeof type_texts[0])

static const char *const event_texts[] = {
    "Transfer(address indexed from, address indexed to, uint256 value)",
    ("PacketSent(uint64 indexed dstChain, uint64 indexed sequence, bytes32 indexed sender, uint64 srcChain, "
     "bytes32 receiver, uint64 timeoutTimestamp, bytes payload)"),
    "Named(string indexed name, bytes indexed blob, (uint256,string)[] items, int32 delta)",
    "Anon(uint256 indexed a, bool indexed b, address indexed c, bytes32 indexed d, string note) anonymous",
    "Delta(int64 indexed d, bool indexed flag, int256 x)",
};
#define N_EVENTS (sizeof event_texts / sizeof event_texts[0])

/* Parsed once; they stay reachable, so LeakSanitizer does not count them. */
static struct abi_type *types[N_TYPES];
static struct abi_sig *events[N_EVENTS];

static void init(void)
{
    static int done;
    if (done)
        return;
    for (size_t i = 0; i < N_TYPES; i++)
        CHECK(abi_type_parse(&types[i], type_texts[i]) == FERRY_OK);
    for (size_t i = 0; i < N_EVENTS; i++)
        CHECK(abi_event_parse(&events[i], event_texts[i]) == FERRY_OK);
    done = 1;
}

#define BIG (1u << 24)

/* Format v, parse the text back, expect the same value. Aliased offsets can make the text
 * larger than the cap; that is a clean failure, not a bug. */
static void text_roundtrip(const struct abi_type *t, const struct abi_value *v)
{
    struct fbuf b;
    fbuf_init(&b, BIG);
    enum ferry_err e = abi_value_format(&b, v);
    if (e) {
        CHECK(e == FERRY_ENOMEM && b.data == NULL);
        return;
    }
    struct abi_value *w;
    CHECK(abi_value_parse(&w, t, b.len ? (const char *)b.data : "") == FERRY_OK);
    CHECK(abi_value_equal(v, w));
    abi_value_free(w);
    fbuf_free(&b);
}

/* Everything that must hold for data that decodes as type t. */
static void check_decode(const struct abi_type *t, const uint8_t *data, size_t n, int deep)
{
    struct abi_value *v;
    enum ferry_err e = abi_decode(&v, t, data, n);
    if (t->kind == ABI_TUPLE && t->count <= 16) {
        struct abi_value f[16];
        enum ferry_err ef = abi_decode_fields(f, t, data, n);
        /* The tree counts its top-level nodes too, so only it can hit the node cap alone. */
        CHECK(ef == FERRY_OK || e != FERRY_OK);
        if (e == FERRY_OK)
            for (size_t i = 0; i < t->count; i++)
                CHECK(abi_value_equal(&f[i], &v->u.list.items[i]));
    }
    if (e) {
        CHECK(v == NULL && ferry_errmsg()[0]);
        return;
    }
    struct fbuf b;
    fbuf_init(&b, BIG);
    e = abi_encode(&b, v);
    if (e == FERRY_OK) {
        struct abi_value *w;
        CHECK(abi_decode(&w, t, b.data, b.len) == FERRY_OK);
        CHECK(abi_value_equal(v, w));
        /* A canonical encoding is its own re-encoding. */
        struct fbuf c;
        fbuf_init(&c, BIG);
        CHECK(abi_encode(&c, w) == FERRY_OK && c.len == b.len && (!c.len || memcmp(c.data, b.data, c.len) == 0));
        fbuf_free(&c);
        abi_value_free(w);
        fbuf_free(&b);
    } else {
        CHECK(e == FERRY_ENOMEM && b.data == NULL); /* aliasing made it larger than the cap */
    }
    if (deep)
        text_roundtrip(t, v);
    abi_value_free(v);
}

/* Mode 1: a type string up to the first newline, then data for it. Also tried as signatures. */
static void fuzz_type_text(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 512 ? size : 512);
    if (!nl)
        return;
    size_t tl = (size_t)(nl - data);
    char text[513];
    memcpy(text, data, tl);
    text[tl] = 0;
    if (strlen(text) != tl)
        return;
    struct abi_type *t;
    if (abi_type_parse(&t, text) == FERRY_OK) {
        struct fbuf b;
        struct abi_type *u;
        fbuf_init(&b, 1u << 20);
        CHECK(abi_type_canonical(&b, t) == FERRY_OK);
        CHECK(abi_type_parse(&u, (const char *)b.data) == FERRY_OK);
        CHECK(abi_type_equal(t, u));
        abi_type_free(u);
        fbuf_free(&b);
        check_decode(t, nl + 1, size - tl - 1, 1);
        abi_type_free(t);
    }
    for (int ev = 0; ev < 2; ev++) {
        struct abi_sig *s, *c;
        if ((ev ? abi_event_parse(&s, text) : abi_function_parse(&s, text)) != FERRY_OK)
            continue;
        CHECK((ev ? abi_event_parse(&c, s->canonical) : abi_function_parse(&c, s->canonical)) == FERRY_OK);
        CHECK(strcmp(c->canonical, s->canonical) == 0 && memcmp(c->hash, s->hash, 32) == 0);
        CHECK(s->data->count + s->n_indexed == s->params->count);
        abi_sig_free(c);
        abi_sig_free(s);
    }
}

/* Mode 2: a log of one of the known events. Byte 0 picks the event, byte 1 the number of topics
 * (low bits) and whether topic0 is made right (high bit); then the topics, then the data. */
static void fuzz_event(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    const struct abi_sig *ev = events[data[0] % N_EVENTS];
    size_t nt = (data[1] & 0x7f) % 5;
    bool fix_topic0 = data[1] & 0x80;
    uint8_t topics[4][32] = {{0}};
    data += 2;
    size -= 2;
    for (size_t i = 0; i < nt; i++) {
        size_t take = size < 32 ? size : 32;
        memcpy(topics[i], data, take);
        data += take;
        size -= take;
    }
    if (fix_topic0 && nt && !ev->anonymous)
        memcpy(topics[0], ev->hash, 32);
    struct abi_value f[8], *tree;
    CHECK(ev->params->count <= 8);
    enum ferry_err ef = abi_event_decode_fields(f, ev, (const uint8_t(*)[32])topics, nt, size ? data : NULL, size);
    enum ferry_err et = abi_event_decode(&tree, ev, (const uint8_t(*)[32])topics, nt, size ? data : NULL, size);
    CHECK(ef == FERRY_OK || et != FERRY_OK);
    if (ef == FERRY_OK)
        CHECK(abi_event_matches(ev, (const uint8_t(*)[32])topics, nt));
    if (et == FERRY_OK) {
        CHECK(tree->u.list.count == ev->params->count);
        for (size_t i = 0; i < ev->params->count; i++)
            CHECK(abi_value_equal(&f[i], &tree->u.list.items[i]));
        abi_value_free(tree);
    } else {
        CHECK(tree == NULL);
    }
}

/* Mode 3: value text for one of the known types. */
static void fuzz_value_text(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return;
    const struct abi_type *t = types[data[0] % N_TYPES];
    char *text = fuzz_strndup(data + 1, size - 1);
    if (!text)
        return;
    struct abi_value *v;
    if (abi_value_parse(&v, t, text) == FERRY_OK) {
        struct fbuf b;
        fbuf_init(&b, BIG);
        CHECK(abi_encode(&b, v) == FERRY_OK);
        check_decode(t, b.data, b.len, 0);
        struct abi_value *w;
        CHECK(abi_decode(&w, t, b.data, b.len) == FERRY_OK);
        CHECK(abi_value_equal(v, w));
        abi_value_free(w);
        fbuf_free(&b);
        text_roundtrip(t, v);
        abi_value_free(v);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 2)
        return 0;
    switch (data[0] % 4) {
    case 0: /* Mode 0: data for one of the known types (byte 1 picks it). */
        check_decode(types[data[1] % N_TYPES], data + 2, size - 2, 1);
        break;
    case 1:
        fuzz_type_text(data + 1, size - 1);
        break;
    case 2:
        fuzz_event(data + 1, size - 1);
        break;
    case 3:
        fuzz_value_text(data + 1, size - 1);
        break;
    }
    return 0;
}
