/* Shared by test_arith.c and test_compare.c: parity of a broadcasting binary op with a PyTorch
 * fixture (a, b, y, dy, da, db), optionally with a given as the transposed view a.t(). */
#ifndef BINARY_CHECK_H
#define BINARY_CHECK_H

#include "fct.h"

typedef fc_tensor *(*binop)(fc_tensor *, fc_tensor *);

static inline void check_binary(const char *fixture, binop f, int strided) {
    fct_fixture fx = fct_load(fixture);
    fc_tensor *a = fct_get(&fx, "a"), *b = fct_get(&fx, "b");
    if (!a || !b) return fct_fixture_free(&fx);
    fc_requires_grad(a);
    fc_requires_grad(b);
    fc_tensor *ua = strided ? fc_transpose(a, 0, 1) : a;
    fc_tensor *y = f(ua, b);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "da"), 1e-6, 1e-5);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

/* gradcheck adapter: ctx is the binop */
static inline fc_tensor *call2(fc_tensor **in, void *ctx) { return ((binop)ctx)(in[0], in[1]); }

#endif
