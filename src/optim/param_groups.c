/* Parameter groups (fastai's param_groups): what splitters write and optimizers take. Apart from
 * optimizer.c because a model's splitter (src/vision/archs.c) is linked wherever its architecture
 * is, an inference-only program too, which needs no optimizer. */
#include <string.h>

#include "../core/core_impl.h"
#include "optim_impl.h"

fc_param_groups *fc_param_groups_new(void) { return fci_calloc(1, sizeof(fc_param_groups)); }

int fc_param_groups_n(const fc_param_groups *g) { return g ? g->n : 0; }

void fc_param_groups_free(fc_param_groups *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        for (int j = 0; j < g->g[i].n; j++) fc_tensor_free(g->g[i].p[j]);
        fci_free(g->g[i].p);
    }
    fci_free(g->g);
    fci_free(g);
}

static int in_groups(const fc_param_groups *g, const fc_tensor *t) {
    for (int i = 0; i < g->n; i++)
        for (int j = 0; j < g->g[i].n; j++)
            if (g->g[i].p[j] == t) return 1;
    return 0;
}

fc_status fc_param_groups_add(fc_param_groups *g, fc_tensor *const *params, int n) {
    if (!g) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "param_groups_add: NULL groups");
    if (n < 0 || (n > 0 && !params))
        return fc_fail(FC_ERR_ARG, "param_groups_add: expected n >= 0 parameters, found %d%s", n,
                       params ? "" : " and NULL params");
    for (int j = 0; j < n; j++) {
        fc_tensor *t = params[j];
        if (!t) return fc_fail(FC_ERR_ARG, "param_groups_add: parameter %d of group %d is NULL", j, g->n);
        if (fc_tensor_dtype(t) != FC_DTYPE_F32)
            return fc_fail(FC_ERR_DTYPE, "param_groups_add: parameter %d of group %d: expected f32, found %s", j,
                           g->n, fc_dtype_name(fc_tensor_dtype(t)));
        if (!fc_tensor_is_contiguous(t))
            return fc_fail(FC_ERR_ARG, "param_groups_add: parameter %d of group %d: expected a contiguous tensor",
                           j, g->n);
        if (in_groups(g, t))
            return fc_fail(FC_ERR_ARG, "param_groups_add: parameter %d of group %d is already in a group", j, g->n);
        for (int k = 0; k < j; k++)
            if (params[k] == t)
                return fc_fail(FC_ERR_ARG, "param_groups_add: parameter %d of group %d repeats parameter %d", j,
                               g->n, k);
    }
    fci_pgroup *ng = fci_calloc((size_t)g->n + 1, sizeof(fci_pgroup));
    fc_tensor **p = fci_calloc(n > 0 ? (size_t)n : 1, sizeof(fc_tensor *));
    if (!ng || !p) {
        fci_free(ng);
        fci_free(p);
        return fc_error_code();
    }
    if (g->n) memcpy(ng, g->g, (size_t)g->n * sizeof(fci_pgroup));
    for (int j = 0; j < n; j++) p[j] = fc_tensor_ref(params[j]);
    ng[g->n] = (fci_pgroup){n, p};
    fci_free(g->g);
    g->g = ng;
    g->n++;
    return FC_OK;
}

fc_param_groups *fc_params_of(fc_module *m) {
    if (!m) return NULL;
    int n = fc_module_n_parameters(m);
    fc_tensor **p = fci_calloc(n > 0 ? (size_t)n : 1, sizeof(fc_tensor *));
    fc_param_groups *g = fc_param_groups_new();
    if (!p || !g) goto fail;
    for (int i = 0; i < n; i++) p[i] = fc_module_parameter(m, i, NULL);
    if (fc_param_groups_add(g, p, n) != FC_OK) goto fail;
    fci_free(p);
    return g;
fail:
    fci_free(p);
    fc_param_groups_free(g);
    return NULL;
}
