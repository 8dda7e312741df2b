/* Batches delivered on a CUDA device (fc_dataloader_opts.device, fc_dataloader_set_device; the
 * learner sets it when its model is on CUDA). A collated host batch is copied into the next
 * buffer of a ring of pinned host memory and uploaded with cudaMemcpyAsync on the device's copy
 * stream; an event recorded after the batch's copies is what the compute stream waits for, so a
 * step waits for its own batch only, and the loader uploads batch b + 1 before it hands out batch
 * b: that copy runs while step b computes (PyTorch's pin_memory + non_blocking=True, with the
 * prefetch to the device that its DataLoader leaves to the user).
 *
 * The ring has three slots: one being read by the copy in flight, one by the batch being handed
 * out, one free for the host to fill, so the host never waits for a copy in steady state. */
#include <stdlib.h>
#include <string.h>

#include "data_impl.h"
#include "fastc/cuda.h"
#if FASTC_CUDA
#include "../core/cuda_impl.h"
#endif

#define FEED_SLOTS 3
#define FEED_ALIGN 256 /* each tensor's bytes start 256-aligned in the slot (DMA-friendly) */

struct fci_device_feed {
    fc_device dev;
#if FASTC_CUDA
    fci_pinned_ring ring;
#endif
    int64_t n_batches; /* uploaded so far */
};

fc_status fci_device_feed_check(const char *op, fc_device d) {
    if (d.type == FC_DEVICE_CPU) return FC_OK;
    if (d.type != FC_DEVICE_CUDA) return fc_fail(FC_ERR_ARG, "%s: unknown device type %d", op, (int)d.type);
    if (!fc_cuda_is_built())
        return fc_fail(FC_ERR_DEVICE, "%s: .device = %s asked for, but fastc was built without CUDA (configure "
                                      "with the CUDA toolkit installed, -DFASTC_CUDA=ON)", op, fc_device_name(d));
    fc_status st = fc_cuda_check(d);
    if (st != FC_OK) return fc_error_code() ? fc_error_code() : st;
    return FC_OK;
}

fci_device_feed *fci_device_feed_new(fc_device d) {
    if (d.type == FC_DEVICE_CPU) {
        fc_fail(FC_ERR_ARG, "dataloader: a device feed for the cpu");
        return NULL;
    }
    if (fci_device_feed_check("dataloader", d) != FC_OK) return NULL;
    fci_device_feed *f = calloc(1, sizeof *f);
    if (!f) {
        fc_fail(FC_ERR_NOMEM, "dataloader: out of memory");
        return NULL;
    }
    f->dev = d;
#if FASTC_CUDA
    if (fci_cuda_ensure("dataloader", d) != FC_OK || fci_pinned_ring_init(&f->ring, d.index, FEED_SLOTS, NULL) != FC_OK) {
        free(f);
        return NULL;
    }
#endif
    return f;
}

void fci_device_feed_free(fci_device_feed *f) {
    if (!f) return;
#if FASTC_CUDA
    fci_pinned_ring_free(&f->ring);
#endif
    free(f);
}

fc_device fci_device_feed_device(const fci_device_feed *f) { return f ? f->dev : FC_CPU; }

#if FASTC_CUDA
static size_t padded(const fc_tensor *t) {
    size_t n = (size_t)fc_tensor_numel(t) * fc_dtype_size(fc_tensor_dtype(t));
    return (n + FEED_ALIGN - 1) / FEED_ALIGN * FEED_ALIGN;
}

/* *t (a host tensor, one reference) replaced by a device copy whose bytes pass through the slot
 * at *off. */
static fc_status up(fci_device_feed *f, fci_pinned_slot *s, size_t *off, fc_tensor **t) {
    fc_tensor *h = *t;
    if (!h || fc_tensor_device(h).type != FC_DEVICE_CPU) return FC_OK; /* already on a device */
    size_t nbytes = (size_t)fc_tensor_numel(h) * fc_dtype_size(fc_tensor_dtype(h));
    fc_tensor *d = fci_tensor_alloc(fc_tensor_shape(h), fc_tensor_dtype(h), f->dev);
    if (!d) return fc_error_code();
    fc_status st = fc_tensor_copy_out(h, (char *)s->p + *off, fc_tensor_dtype(h)); /* any layout, on the host */
    if (st == FC_OK) st = fci_pinned_copy(f->dev.index, s, *off, fc_tensor_data(d), nbytes);
    if (st != FC_OK) {
        fc_tensor_free(d);
        return st;
    }
    *off += padded(h);
    fc_tensor_free(h);
    *t = d;
    return FC_OK;
}
#endif

fc_status fci_device_feed_upload(fci_device_feed *f, const fc_tuple *host, fc_tuple *out) {
    *out = (fc_tuple){.n = host->n, .n_inp = host->n_inp};
    fc_status st = FC_OK;
    for (int i = 0; i < host->n && st == FC_OK; i++) st = fci_value_copy(&host->v[i], &out->v[i]);
#if FASTC_CUDA
    size_t total = 0;
    for (int i = 0; i < out->n; i++) {
        if (out->v[i].t && fc_tensor_device(out->v[i].t).type == FC_DEVICE_CPU) total += padded(out->v[i].t);
        for (int64_t k = 0; k < out->v[i].n_list; k++)
            if (fc_tensor_device(out->v[i].list[k]).type == FC_DEVICE_CPU) total += padded(out->v[i].list[k]);
    }
    if (st == FC_OK) st = fci_cuda_ensure("dataloader", f->dev); /* this thread's current device */
    fc_scope *outer = fci_scope_suspend(); /* the batch belongs to its tuple, not to a scope */
    fci_pinned_slot *s = st == FC_OK ? fci_pinned_ring_acquire(&f->ring, total) : NULL;
    if (st == FC_OK && !s) st = fc_error_code();
    size_t off = 0;
    for (int i = 0; i < out->n && st == FC_OK; i++) {
        st = up(f, s, &off, &out->v[i].t);
        for (int64_t k = 0; k < out->v[i].n_list && st == FC_OK; k++) st = up(f, s, &off, &out->v[i].list[k]);
    }
    if (s) { /* even after a failure: copies already queued must be waited for */
        fc_status cst = fci_pinned_commit(f->dev.index, s);
        if (st == FC_OK) st = cst;
    }
    fci_scope_resume(outer);
#endif
    if (st != FC_OK) fc_tuple_free(out);
    else f->n_batches++;
    return st;
}
