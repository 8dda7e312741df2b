/* dtypes: sizes, names, and conversions between the half types and f32. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core_impl.h"

static const size_t sizes[FC_DTYPE_COUNT] = {4, 2, 2, 4, 8, 1, 1};
static const char *names[FC_DTYPE_COUNT] = {"f32", "bf16", "f16", "i32", "i64", "u8", "bool"};

size_t fc_dtype_size(fc_dtype dt) { return (unsigned)dt < FC_DTYPE_COUNT ? sizes[dt] : 0; }
const char *fc_dtype_name(fc_dtype dt) { return (unsigned)dt < FC_DTYPE_COUNT ? names[dt] : "?"; }
int fc_dtype_is_float(fc_dtype dt) {
    return dt == FC_DTYPE_F32 || dt == FC_DTYPE_BF16 || dt == FC_DTYPE_F16;
}

const char *fc_device_name(fc_device d) {
    if (d.type == FC_DEVICE_CPU) return "cpu";
    static _Thread_local char buf[32];
    snprintf(buf, sizeof buf, "cuda:%d", d.index);
    return buf;
}

uint16_t fc_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);                                         /* nearest even */
    return (uint16_t)(u >> 16);
}

float fc_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t fc_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t man = u & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0)); /* inf / nan */
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u); /* overflow: inf */
    if (e <= 0) {                                  /* subnormal or zero */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        int shift = 14 - e;
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++; /* may carry into exp: fine */
    return (uint16_t)half;
}

float fc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) u = sign;
        else { /* subnormal: value = man * 2^-24 */
            float f = (float)man * 5.9604644775390625e-8f;
            memcpy(&u, &f, 4);
            u |= sign;
        }
    } else if (exp == 31) u = sign | 0x7f800000u | (man << 13);
    else u = sign | ((exp - 15 + 127) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

double fci_load_as_double(const void *p, fc_dtype dt) {
    switch (dt) {
    case FC_DTYPE_F32: return *(const float *)p;
    case FC_DTYPE_BF16: return fc_bf16_to_f32(*(const uint16_t *)p);
    case FC_DTYPE_F16: return fc_f16_to_f32(*(const uint16_t *)p);
    case FC_DTYPE_I32: return *(const int32_t *)p;
    case FC_DTYPE_I64: return (double)*(const int64_t *)p;
    case FC_DTYPE_U8: return *(const uint8_t *)p;
    case FC_DTYPE_BOOL: return *(const uint8_t *)p ? 1.0 : 0.0;
    default: return NAN;
    }
}

void fci_store_from_double(void *p, fc_dtype dt, double v) {
    switch (dt) {
    case FC_DTYPE_F32: *(float *)p = (float)v; break;
    case FC_DTYPE_BF16: *(uint16_t *)p = fc_f32_to_bf16((float)v); break;
    case FC_DTYPE_F16: *(uint16_t *)p = fc_f32_to_f16((float)v); break;
    case FC_DTYPE_I32: *(int32_t *)p = (int32_t)v; break;
    case FC_DTYPE_I64: *(int64_t *)p = (int64_t)v; break;
    case FC_DTYPE_U8: *(uint8_t *)p = (uint8_t)v; break;
    case FC_DTYPE_BOOL: *(uint8_t *)p = v != 0.0; break;
    default: break;
    }
}
