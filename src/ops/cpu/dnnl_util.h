/* The oneDNN engine and stream shared by every oneDNN-backed kernel, and error translation. */
#ifndef FASTC_DNNL_UTIL_H
#define FASTC_DNNL_UTIL_H

#include <oneapi/dnnl/dnnl.h>

#include "../../core/core_impl.h"

/* The CPU engine and its in-order stream, created once (thread-safe); NULL with the error set. */
dnnl_engine_t fci_dnnl_engine(void);
dnnl_stream_t fci_dnnl_stream(void);
/* FC_OK for dnnl_success; otherwise records "<op>: oneDNN <what> failed: <status>" with a code
 * (unimplemented -> FC_ERR_UNSUPPORTED, out_of_memory -> FC_ERR_NOMEM, else FC_ERR_INTERNAL). */
fc_status fci_dnnl_check(dnnl_status_t st, const char *op, const char *what);

#endif
