/* The learned model of delivery gas (gasmodel.h). */
#include <string.h>

#include "evm/gasmodel.h"

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

uint64_t evm_calldata_gas(const uint8_t *data, size_t len)
{
    uint64_t g = 0;
    for (size_t i = 0; i < len; i++)
        g += data[i] ? 16 : 4;
    return g;
}

static int find(const struct evm_gas_model *m, const uint8_t receiver[32])
{
    for (size_t i = 0; i < m->n; i++)
        if (!memcmp(m->v[i].receiver, receiver, 32))
            return (int)i;
    return -1;
}

bool evm_gas_model_learn(struct evm_gas_model *m, const uint8_t receiver[32], size_t n, uint64_t gas_used,
                         uint64_t calldata_gas)
{
    uint64_t base = sat_add(EVM_GAS_TX_BASE, calldata_gas);
    if (!n || n > UINT32_MAX || gas_used <= base)
        return false;
    uint64_t exec = gas_used - base;
    uint64_t per = exec / n + (exec % n != 0);
    if (per < (m->min_per_packet ? m->min_per_packet : EVM_GAS_MODEL_MIN_PACKET))
        return false;
    int i = find(m, receiver);
    if (i < 0) {
        if (m->n < EVM_GAS_MODEL_RECEIVERS) {
            i = (int)m->n++;
        } else {
            i = 0;
            for (size_t k = 1; k < m->n; k++)
                if (m->v[k].used < m->v[i].used)
                    i = (int)k;
        }
        memset(&m->v[i], 0, sizeof m->v[i]);
        memcpy(m->v[i].receiver, receiver, 32);
    }
    m->v[i].used = ++m->clock;
    /* the slot of size n, else a free one, else the smallest size if n is larger */
    int slot = -1, small = 0;
    for (int k = 0; k < EVM_GAS_MODEL_SIZES; k++) {
        uint32_t kn = m->v[i].size[k].n;
        if (kn == n) {
            slot = k;
            break;
        }
        if (kn < m->v[i].size[small].n)
            small = k;
    }
    if (slot < 0) {
        if (m->v[i].size[small].n >= n)
            return true; /* the receiver is used; a size this small is not kept */
        slot = small;
        m->v[i].size[slot].n = (uint32_t)n;
        m->v[i].size[slot].per_packet = 0;
    }
    if (per > m->v[i].size[slot].per_packet)
        m->v[i].size[slot].per_packet = per;
    return true;
}

/* The figure of entry i for a batch of n: that of the largest size learned not above n. */
static uint64_t figure_of(const struct evm_gas_model *m, int i, size_t n)
{
    uint32_t best_n = 0;
    uint64_t f = 0;
    for (int k = 0; k < EVM_GAS_MODEL_SIZES; k++) {
        uint32_t kn = m->v[i].size[k].n;
        if (kn && kn <= n && kn > best_n) {
            best_n = kn;
            f = m->v[i].size[k].per_packet;
        }
    }
    return f;
}

uint64_t evm_gas_model_figure(struct evm_gas_model *m, const uint8_t receiver[32], size_t n)
{
    int i = find(m, receiver);
    if (i < 0)
        return 0;
    m->v[i].used = ++m->clock;
    return figure_of(m, i, n);
}

uint64_t evm_gas_model_peek(const struct evm_gas_model *m, const uint8_t receiver[32], size_t n)
{
    int i = find(m, receiver);
    return i < 0 ? 0 : figure_of(m, i, n);
}

static uint64_t sat_mul(uint64_t a, uint64_t b) { return a && b > UINT64_MAX / a ? UINT64_MAX : a * b; }

uint64_t evm_gas_model_price(struct evm_gas_model *m, const uint8_t (*receivers)[32], const size_t *count,
                             size_t nrecv, uint64_t calldata_gas, uint64_t headroom, uint64_t *need)
{
    uint64_t g = sat_add(sat_add(EVM_GAS_TX_BASE, calldata_gas), headroom), bare = g;
    size_t packets = 0;
    if (need)
        *need = 0;
    for (size_t i = 0; i < nrecv; i++) {
        uint64_t f = evm_gas_model_figure(m, receivers[i], count[i]);
        if (!f)
            return 0;
        uint64_t pad = f / 100 * EVM_GAS_MODEL_PCT + (f % 100 * EVM_GAS_MODEL_PCT + 99) / 100;
        g = sat_add(g, sat_mul(count[i], sat_add(sat_add(f, EVM_GAS_MODEL_SLOT), pad)));
        bare = sat_add(bare, sat_mul(count[i], f));
        packets += count[i];
    }
    if (!packets)
        return 0;
    if (need)
        *need = bare;
    return g;
}

bool evm_gas_model_forget(struct evm_gas_model *m, const uint8_t receiver[32])
{
    int i = find(m, receiver);
    if (i < 0)
        return false;
    m->v[i] = m->v[--m->n];
    return true;
}
