/* Shared by test_unary.c and test_activation.c: parity of a pointwise op with a PyTorch fixture
 * (contiguous x and the transposed view x2.t()), and gradcheck on a chosen domain. */
#ifndef UNARY_CHECK_H
#define UNARY_CHECK_H

#include <math.h>

#include "fct.h"

/* the op under test with its parameters (p may be unused) */
typedef struct unary_case {
    const char *fixture;
    fc_tensor *(*fn)(fc_tensor *x, const double *p);
    double p[2];
    float (*domain)(float v); /* maps N(0,1) samples into the op's smooth domain; NULL: as is */
} unary_case;

static inline void unary_parity(const unary_case *c, double atol, double rtol) {
    char path[96];
    snprintf(path, sizeof path, "ops/%s", c->fixture);
    fct_fixture fx = fct_load(path);
    fc_tensor *x = fct_get(&fx, "x"), *x2 = fct_get(&fx, "x2");
    if (!x || !x2) return fct_fixture_free(&fx);
    fc_requires_grad(x);
    fc_requires_grad(x2);
    fc_tensor *y = c->fn(x, c->p);
    if (!fct_check(y != NULL, __FILE__, __LINE__, "%s: %s", c->fixture, fc_error_message())) {
        fc_error_clear();
        return fct_fixture_free(&fx);
    }
    FCT_CLOSE(y, fct_get(&fx, "y"), atol, rtol);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), atol, rtol);
    fc_tensor *xt = fc_transpose(x2, 0, 1); /* non-contiguous input */
    fc_tensor *y2 = c->fn(xt, c->p);
    FCT_TRUE(!fc_tensor_is_contiguous(xt));
    FCT_CLOSE(y2, fct_get(&fx, "y2"), atol, rtol);
    FCT_OK(fc_backward_with(y2, fct_get(&fx, "dy2")));
    FCT_CLOSE(fc_tensor_grad(x2), fct_get(&fx, "dx2"), atol, rtol);
    fct_fixture_free(&fx);
}

static inline fc_tensor *unary_call(fc_tensor **in, void *ctx) {
    const unary_case *c = ctx;
    return c->fn(in[0], c->p);
}

static inline int unary_gradcheck(const unary_case *c, uint64_t seed) {
    fc_tensor *x = fct_randn(FC_SHAPE(3, 5), seed);
    float *p = fc_tensor_data(x);
    if (c->domain)
        for (int i = 0; i < 15; i++) p[i] = c->domain(p[i]);
    fc_requires_grad(x);
    int bad = FCT_GRADCHECK(unary_call, (void *)c, 1, &x);
    if (bad) fprintf(stderr, "  (gradcheck of %s)\n", c->fixture);
    fc_tensor_free(x);
    return bad;
}

#endif
