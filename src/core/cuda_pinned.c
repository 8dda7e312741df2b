/* The pinned-buffer ring of the data loaders' device batches (cuda_impl.h). A batch is collated on
 * the host, copied into the next pinned slot and uploaded with cudaMemcpyAsync on the device's
 * copy stream; the slot's event, recorded after its copies, is what the compute stream waits for
 * (so a step waits for its own batch only) and what the host waits for before it writes the slot
 * again, n_slots batches later. Pageable memory cannot be copied asynchronously (the driver
 * stages it and blocks), which is why the bytes pass through here. */
#include <cuda_runtime.h>

#include "cuda_impl.h"

#define SLOT_STEP ((size_t)1 << 20)

static void *host_alloc(size_t n) {
    void *p = NULL;
    cudaError_t e = cudaHostAlloc(&p, n, cudaHostAllocDefault);
    if (e == cudaSuccess) return p;
    cudaGetLastError();
    fc_fail(e == cudaErrorMemoryAllocation ? FC_ERR_NOMEM : FC_ERR_DEVICE,
            "dataloader: cudaHostAlloc of %zu bytes of pinned memory failed: %s", n, cudaGetErrorString(e));
    return NULL;
}
static void host_release(void *p) { cudaFreeHost(p); }
static fc_status event_wait(void *ev) {
    return fci_cuda_status("dataloader", "cudaEventSynchronize", cudaEventSynchronize((cudaEvent_t)ev));
}

fc_status fci_pinned_ring_init(fci_pinned_ring *r, int device, int n_slots, const fci_pinned_hooks *hooks) {
    *r = (fci_pinned_ring){.device = device, .n_slots = n_slots};
    if (n_slots < 2 || n_slots > FCI_PINNED_MAX_SLOTS)
        return FCI_INTERNAL("pinned ring: %d slots (expected 2..%d)", n_slots, FCI_PINNED_MAX_SLOTS);
    r->hooks = hooks ? *hooks : (fci_pinned_hooks){host_alloc, host_release, event_wait};
    return FC_OK;
}

fci_pinned_slot *fci_pinned_ring_acquire(fci_pinned_ring *r, size_t nbytes) {
    fci_pinned_slot *s = &r->slot[r->next];
    if (s->pending) { /* the copy that read this slot n_slots batches ago */
        r->n_waits++;
        if (r->hooks.wait(s->event) != FC_OK) return NULL;
        s->pending = 0;
    }
    if (s->size < nbytes || !s->p) {
        size_t size = (nbytes + SLOT_STEP - 1) / SLOT_STEP * SLOT_STEP;
        void *p = r->hooks.alloc(size ? size : SLOT_STEP);
        if (!p) return NULL;
        if (s->p) r->hooks.release(s->p);
        s->p = p;
        s->size = size ? size : SLOT_STEP;
        r->n_allocs++;
    }
    r->next = (r->next + 1) % r->n_slots;
    return s;
}

void fci_pinned_ring_free(fci_pinned_ring *r) {
    for (int i = 0; i < r->n_slots; i++) {
        fci_pinned_slot *s = &r->slot[i];
        if (s->pending) r->hooks.wait(s->event); /* never free memory a copy still reads */
        if (s->p) r->hooks.release(s->p);
        if (s->event) cudaEventDestroy((cudaEvent_t)s->event);
        *s = (fci_pinned_slot){0};
    }
}

fc_status fci_pinned_copy(int device, fci_pinned_slot *s, size_t off, void *dst, size_t nbytes) {
    if (!nbytes) return FC_OK;
    if (off + nbytes > s->size)
        return FCI_INTERNAL("pinned copy: %zu bytes at %zu past a slot of %zu", nbytes, off, s->size);
    fc_status st = fci_cuda_copy_fence(device); /* dst may be a block compute just released */
    if (st != FC_OK) return st;
    return fci_cuda_status("dataloader", "cudaMemcpyAsync (pinned host to device)",
                           cudaMemcpyAsync(dst, (char *)s->p + off, nbytes, cudaMemcpyHostToDevice,
                                           (cudaStream_t)fci_cuda_copy_stream(device)));
}

fc_status fci_pinned_commit(int device, fci_pinned_slot *s) {
    cudaStream_t copy = (cudaStream_t)fci_cuda_copy_stream(device);
    if (!copy) return fc_error_code();
    cudaError_t e = cudaSuccess;
    if (!s->event) {
        cudaEvent_t ev;
        e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
        if (e == cudaSuccess) s->event = ev;
    }
    if (e == cudaSuccess) e = cudaEventRecord((cudaEvent_t)s->event, copy);
    if (e == cudaSuccess) s->pending = 1;
    if (e == cudaSuccess) e = cudaStreamWaitEvent((cudaStream_t)fci_cuda_stream(device), (cudaEvent_t)s->event, 0);
    return fci_cuda_status("dataloader", "recording the batch's upload event", e);
}
