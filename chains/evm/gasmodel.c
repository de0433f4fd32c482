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
    if (!n || gas_used <= base)
        return false;
    uint64_t exec = gas_used - base;
    uint64_t per = exec / n + (exec % n != 0);
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
        memcpy(m->v[i].receiver, receiver, 32);
        m->v[i].per_packet = 0;
    }
    if (per > m->v[i].per_packet)
        m->v[i].per_packet = per;
    m->v[i].used = ++m->clock;
    return true;
}

uint64_t evm_gas_model_figure(struct evm_gas_model *m, const uint8_t receiver[32])
{
    int i = find(m, receiver);
    if (i < 0)
        return 0;
    m->v[i].used = ++m->clock;
    return m->v[i].per_packet;
}

uint64_t evm_gas_model_price(struct evm_gas_model *m, const uint8_t (*receivers)[32], const size_t *count,
                             size_t nrecv, uint64_t calldata_gas, uint64_t headroom)
{
    uint64_t g = sat_add(sat_add(EVM_GAS_TX_BASE, calldata_gas), headroom);
    size_t packets = 0;
    for (size_t i = 0; i < nrecv; i++) {
        uint64_t f = evm_gas_model_figure(m, receivers[i]);
        if (!f)
            return 0;
        uint64_t pad = f / 100 * EVM_GAS_MODEL_PCT + (f % 100 * EVM_GAS_MODEL_PCT + 99) / 100;
        uint64_t each = sat_add(sat_add(f, EVM_GAS_MODEL_SLOT), pad);
        g = sat_add(g, count[i] && each > UINT64_MAX / count[i] ? UINT64_MAX : each * count[i]);
        packets += count[i];
    }
    return packets ? g : 0;
}

bool evm_gas_model_forget(struct evm_gas_model *m, const uint8_t receiver[32])
{
    int i = find(m, receiver);
    if (i < 0)
        return false;
    m->v[i] = m->v[--m->n];
    return true;
}
