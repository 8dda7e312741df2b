/* One oneDNN CPU engine and stream for the process. oneDNN (Debian's build) runs on OpenMP, so
 * fc_set_num_threads governs it together with our loops and OpenBLAS. */
#include "dnnl_util.h"

#include <pthread.h>

static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_status_t g_status = dnnl_success;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void create(void) {
    g_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_status == dnnl_success) g_status = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
}

static int ready(void) {
    pthread_once(&g_once, create);
    return fci_dnnl_check(g_status, "onednn", "engine creation") == FC_OK;
}

dnnl_engine_t fci_dnnl_engine(void) { return ready() ? g_engine : NULL; }
dnnl_stream_t fci_dnnl_stream(void) { return ready() ? g_stream : NULL; }

static const char *status_name(dnnl_status_t st) {
    switch (st) {
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "no implementation for this case on this CPU";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown status";
    }
}

fc_status fci_dnnl_check(dnnl_status_t st, const char *op, const char *what) {
    if (st == dnnl_success) return FC_OK;
    fc_status code = st == dnnl_unimplemented    ? FC_ERR_UNSUPPORTED
                     : st == dnnl_out_of_memory ? FC_ERR_NOMEM
                                                : FC_ERR_INTERNAL;
    return fc_fail(code, "%s: oneDNN %s failed: %s (status %d)", op, what, status_name(st), (int)st);
}
