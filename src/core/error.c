/* Sticky, thread-local errors: the first failure's message stands until cleared. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core_impl.h"

static _Thread_local fc_status pending_code = FC_OK;
static _Thread_local char pending_msg[1024];

static fc_status vfail(fc_status code, const char *prefix, const char *fmt, va_list ap) {
    if (pending_code != FC_OK) return code; /* keep the root cause, not its echoes */
    pending_code = code;
    size_t n = 0;
    if (prefix) n = (size_t)snprintf(pending_msg, sizeof pending_msg, "%s", prefix);
    if (n < sizeof pending_msg) vsnprintf(pending_msg + n, sizeof pending_msg - n, fmt, ap);
    return code;
}

fc_status fc_fail(fc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

fc_status fci_fail_at(const char *file, int line, const char *fmt, ...) {
    char where[256];
    snprintf(where, sizeof where, "internal error at %s:%d (a bug in fastc, please report): ", file,
             line);
    va_list ap;
    va_start(ap, fmt);
    vfail(FC_ERR_INTERNAL, where, fmt, ap);
    va_end(ap);
    return FC_ERR_INTERNAL;
}

fc_status fci_error_prefix(const char *fmt, ...) {
    if (pending_code == FC_OK) return FC_OK;
    char old[sizeof pending_msg];
    memcpy(old, pending_msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(pending_msg, sizeof pending_msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof pending_msg) snprintf(pending_msg + n, sizeof pending_msg - (size_t)n, "%s", old);
    return pending_code;
}

const char *fc_error_message(void) { return pending_code == FC_OK ? "" : pending_msg; }
fc_status fc_error_code(void) { return pending_code; }
void fc_error_clear(void) {
    pending_code = FC_OK;
    pending_msg[0] = 0;
}

const char *fc_status_name(fc_status st) {
    switch (st) {
    case FC_OK: return "ok";
    case FC_ERR_ARG: return "bad argument";
    case FC_ERR_SHAPE: return "shape error";
    case FC_ERR_DTYPE: return "dtype error";
    case FC_ERR_DEVICE: return "device error";
    case FC_ERR_NOMEM: return "out of memory";
    case FC_ERR_IO: return "I/O error";
    case FC_ERR_FORMAT: return "format error";
    case FC_ERR_STATE: return "state error";
    case FC_ERR_UNSUPPORTED: return "unsupported";
    case FC_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int fc_report(fc_status st) {
    fc_status code = pending_code != FC_OK ? pending_code : st;
    if (code == FC_OK) return 0;
    fprintf(stderr, "fastc: %s: %s\n", fc_status_name(code),
            pending_code != FC_OK ? pending_msg : "(no message recorded)");
    return 1;
}
