// The CUDA emulator's runtime: the cudart calls fastc makes, on host memory, and the kernel
// scheduler behind FCI_LAUNCH (see include/cuda_runtime.h for what this proves and what not).
//
// Scheduling: a launch runs its blocks one after another (in a shuffled order: blocks of a grid
// may not depend on each other's order), and a block's threads as fibers, each on its own stack.
// A fiber runs until it finishes or must wait for others: at __syncthreads (all live threads of the
// block must arrive) or at a warp exchange (all lanes the mask names must arrive). The scheduler
// then lets the waiters go and runs them again, in a fresh shuffled order each round. A barrier
// that cannot be met (a thread finished while others wait, lanes at different points) stops the
// program with the kernel's name: that is a kernel bug, which on a GPU hangs or reads garbage.
//
// Memory: cudaMalloc'd blocks are registered, filled with 0xff bytes (NaN for floats, -1 for
// integers) so a kernel that reads what nothing wrote shows it, and poisoned again when freed.
// Copies and memsets check that the pointers they were told are device pointers are.
#include <cuda_runtime.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace fce {
uint3 thread_idx, block_idx;
dim3 block_dim, grid_dim;
} // namespace fce

extern "C" void fce_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "CUDA emulator: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    abort(); // test infrastructure: a kernel bug, never a user error of the library
}

// ---- fibers -------------------------------------------------------------------------------------
// A context switch saves the callee-saved registers on the old stack and restores them from the
// new one (x86-64 System V; ucontext's swapcontext makes a system call per switch, ~50x slower).
// The SSE and x87 control words are not switched: no kernel changes the rounding mode.
#if defined(__x86_64__)
extern "C" void fce_switch(void **save_sp, void *new_sp);
asm(R"(
.pushsection .text
.globl fce_switch
.type fce_switch,@function
fce_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size fce_switch,.-fce_switch
.popsection
)");
#else
#error "the CUDA emulator's fibers are written for x86-64"
#endif

// Under AddressSanitizer the switches are announced, so it knows which stack is live (without that
// it reports the fibers' frames as overflows of the scheduler's stack).
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define FCE_ASAN 1
#else
#define FCE_ASAN 0
#endif

namespace {

const size_t STACK_BYTES = 64 << 10, GUARD_BYTES = 4096; // kernels are shallow

enum { READY, AT_BARRIER, AT_WARP, DONE };

struct fiber {
    char *stack = nullptr; // guard page, then STACK_BYTES
    void *sp = nullptr;
    int state = DONE;
    uint3 tid{};
    // a pending warp exchange
    int op = 0, arg = 0, width = 32;
    unsigned mask = 0;
    uint64_t value = 0, result = 0;
};

std::vector<fiber> fibers;
void *scheduler_sp;
fiber *current;
const char *kernel_name;
const std::function<void()> *thread_body;
uint64_t rng_state = 0x9e3779b97f4a7c15ull;

uint64_t next_random() {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

void shuffle(std::vector<unsigned> &v) { // Fisher-Yates; j = floor(r * i / 2^32), no division
    for (size_t i = v.size(); i > 1; i--) std::swap(v[i - 1], v[(size_t)(((next_random() >> 32) * (uint64_t)i) >> 32)]);
}

#if FCE_ASAN
const void *scheduler_stack;
size_t scheduler_stack_bytes;
#endif

[[noreturn]] void fiber_main() {
#if FCE_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &scheduler_stack, &scheduler_stack_bytes);
#endif
    (*thread_body)();
    current->state = DONE;
#if FCE_ASAN
    __sanitizer_start_switch_fiber(nullptr, scheduler_stack, scheduler_stack_bytes); // this run ends
#endif
    fce_switch(&current->sp, scheduler_sp);
    __builtin_unreachable();
}

void fiber_start(fiber &f) {
    if (!f.stack) {
        void *m = mmap(nullptr, STACK_BYTES + GUARD_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) fce_fatal("no memory for a fiber stack");
        mprotect(m, GUARD_BYTES, PROT_NONE); // a stack overflow faults instead of corrupting
        f.stack = (char *)m;
    }
    // the frame fce_switch pops: r15..r12, rbx, rbp, then fiber_main as the return address; rsp is
    // 8 mod 16 at fiber_main's entry, as after a call
    uintptr_t top = ((uintptr_t)(f.stack + GUARD_BYTES + STACK_BYTES)) & ~(uintptr_t)15;
    uint64_t *s = (uint64_t *)top;
    *--s = 0;                      // fiber_main's (never used) return address
    *--s = (uint64_t)&fiber_main;  // fce_switch's ret
    for (int i = 0; i < 6; i++) *--s = 0; // rbp rbx r12 r13 r14 r15
    f.sp = s;
    f.state = READY;

}

void wait_here(int state) {
    if (!current) fce_fatal("a barrier or warp exchange outside a kernel");
    current->state = state;
#if FCE_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, scheduler_stack, scheduler_stack_bytes);
#endif
    fce_switch(&current->sp, scheduler_sp);
#if FCE_ASAN
    __sanitizer_finish_switch_fiber(fake, &scheduler_stack, &scheduler_stack_bytes);
#endif
}

const char *state_name(int s) {
    return s == READY ? "running" : s == AT_BARRIER ? "at __syncthreads" : s == AT_WARP ? "at a warp exchange" : "finished";
}

// Lets a warp's exchange complete when every lane its mask names has arrived; returns 1 if it did.
int settle_warp(unsigned w, unsigned n_threads) {
    unsigned first = w * 32, lanes = n_threads - first < 32 ? n_threads - first : 32;
    fiber *lead = nullptr;
    for (unsigned l = 0; l < lanes; l++)
        if (fibers[first + l].state == AT_WARP) { lead = &fibers[first + l]; break; }
    if (!lead) return 0;
    for (unsigned l = 0; l < 32; l++) {
        if (!(lead->mask >> l & 1)) continue;
        if (l >= lanes)
            fce_fatal("kernel %s: a warp exchange names lane %u of warp %u, which the block (%u threads) does not have",
                      kernel_name, l, w, n_threads);
        fiber &f = fibers[first + l];
        if (f.state == READY) return 0; // still on its way
        if (f.state != AT_WARP || f.op != lead->op || f.mask != lead->mask)
            fce_fatal("kernel %s: block (%u,%u,%u), warp %u: lane %u is %s while lane %u waits at a warp exchange "
                      "(mask %08x) that names it",
                      kernel_name, fce::block_idx.x, fce::block_idx.y, fce::block_idx.z, w, l, state_name(f.state),
                      (unsigned)(lead - &fibers[first]), lead->mask);
    }
    for (unsigned l = 0; l < 32; l++) {
        if (!(lead->mask >> l & 1)) continue;
        fiber &f = fibers[first + l];
        switch (f.op) {
        case fce::WARP_SHFL_XOR: {
            unsigned seg = (unsigned)f.width, src = l ^ (unsigned)f.arg;
            if ((src / seg) != (l / seg) || !(lead->mask >> src & 1)) src = l; // outside: own value
            f.result = fibers[first + src].value;
            break;
        }
        case fce::WARP_ANY:
        case fce::WARP_ALL: {
            int any = 0, all = 1;
            for (unsigned k = 0; k < 32; k++)
                if (lead->mask >> k & 1) {
                    any |= fibers[first + k].value != 0;
                    all &= fibers[first + k].value != 0;
                }
            f.result = f.op == fce::WARP_ANY ? any : all;
            break;
        }
        default: fce_fatal("kernel %s: unknown warp operation %d", kernel_name, f.op);
        }
    }
    for (unsigned l = 0; l < 32; l++)
        if (lead->mask >> l & 1) fibers[first + l].state = READY;
    return 1;
}

void run_block(unsigned n_threads, std::vector<unsigned> &order) {
    for (unsigned t = 0; t < n_threads; t++) {
        fiber &f = fibers[t];
        fiber_start(f);
        f.tid = uint3{t % fce::block_dim.x, (t / fce::block_dim.x) % fce::block_dim.y,
                      t / (fce::block_dim.x * fce::block_dim.y)};
    }
    unsigned live = n_threads;
    while (live) {
        shuffle(order);
        for (unsigned t : order) {
            fiber &f = fibers[t];
            if (f.state != READY) continue;
            current = &f;
            fce::thread_idx = f.tid;
#if FCE_ASAN
            void *fake = nullptr;
            __sanitizer_start_switch_fiber(&fake, f.stack + GUARD_BYTES, STACK_BYTES);
#endif
            fce_switch(&scheduler_sp, f.sp);
#if FCE_ASAN
            __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
            current = nullptr;
            if (f.state == DONE) live--;
        }
        if (!live) break;
        int moved = 0;
        for (unsigned w = 0; w * 32 < n_threads; w++) moved |= settle_warp(w, n_threads);
        if (moved) continue;
        // no warp can move: every live thread must be at the barrier
        unsigned at_bar = 0;
        for (unsigned t = 0; t < n_threads; t++) at_bar += fibers[t].state == AT_BARRIER;
        if (at_bar != live) {
            unsigned t = 0;
            while (fibers[t].state != AT_WARP) t++;
            fce_fatal("kernel %s: block (%u,%u,%u) cannot go on: %u threads wait at __syncthreads, thread %u waits "
                      "at a warp exchange whose lanes never all arrive",
                      kernel_name, fce::block_idx.x, fce::block_idx.y, fce::block_idx.z, at_bar, t);
        }
        for (unsigned t = 0; t < n_threads; t++)
            if (fibers[t].state == AT_BARRIER) fibers[t].state = READY;
    }
}

// ---- errors, streams, events ----------------------------------------------------------------------
thread_local cudaError_t last_error = cudaSuccess;
int current_device = 0;

cudaError_t fail(cudaError_t e) {
    last_error = e;
    return e;
}

std::mutex mem_lock;
std::map<uintptr_t, size_t> device_blocks;
std::set<void *> pinned_blocks, streams, events;
size_t device_used;

int device_count() {
    const char *e = getenv("FCE_DEVICES");
    return e ? atoi(e) : 1;
}
size_t device_capacity() {
    const char *e = getenv("FCE_DEVICE_MIB");
    return (e ? (size_t)atoll(e) : (size_t)8192) << 20;
}

// ---- streams: in-order queues run as late as CUDA allows --------------------------------------
// Work given to a stream is queued, not done: it runs when the host waits for it
// (cudaStreamSynchronize, cudaEventSynchronize, a cudaEventQuery that finds it pending, a
// synchronous copy on the legacy stream, cudaFree, cudaDeviceSynchronize), when another stream
// waits for an event recorded after it, or when a queue grows long. Every such schedule is one a
// GPU may pick, and the latest one shows what a missing wait costs: a kernel reading what another
// stream has not written yet, a host buffer reused before its copy ran, a host read of a result
// nothing waited for.
struct stream_q {
    std::deque<std::function<void()>> q;
    uint64_t enqueued = 0, executed = 0;
    bool blocking = true; // synchronizes with the legacy default stream
};
std::recursive_mutex device_lock; // the queues, and one piece of work at a time
stream_q legacy_stream;
const size_t MAX_PENDING = 1 << 14;

bool live_stream(cudaStream_t s) {
    if (!s) return true; // the legacy default stream
    std::lock_guard<std::mutex> g(mem_lock);
    return streams.count((void *)s) != 0;
}
stream_q *queue_of(cudaStream_t s) { return s ? (stream_q *)s : &legacy_stream; }

void drain_to(stream_q *q, uint64_t seq) {
    std::lock_guard<std::recursive_mutex> g(device_lock);
    while (q->executed < seq && !q->q.empty()) {
        std::function<void()> f = std::move(q->q.front());
        q->q.pop_front();
        f();
        q->executed++;
    }
}
void drain(stream_q *q) { drain_to(q, q->enqueued); }
std::vector<void *> all_streams() {
    std::lock_guard<std::mutex> m(mem_lock);
    return std::vector<void *>(streams.begin(), streams.end());
}
void drain_all() {
    std::lock_guard<std::recursive_mutex> g(device_lock);
    drain(&legacy_stream);
    for (void *h : all_streams()) drain((stream_q *)h);
}
// Work on the legacy stream first waits for every blocking stream (cudaStreamNonBlocking ones take
// no part), and work on a blocking stream waits for the legacy stream.
void legacy_order(cudaStream_t s) {
    if (s && !((stream_q *)s)->blocking) return;
    if (s) drain(&legacy_stream);
    else
        for (void *h : all_streams())
            if (((stream_q *)h)->blocking) drain((stream_q *)h);
}
void enqueue(cudaStream_t s, std::function<void()> f) {
    std::lock_guard<std::recursive_mutex> g(device_lock);
    legacy_order(s);
    stream_q *q = queue_of(s);
    q->q.push_back(std::move(f));
    q->enqueued++;
    if (q->q.size() > MAX_PENDING) drain_to(q, q->enqueued - MAX_PENDING / 2);
}

struct event_rec {
    stream_q *q; // the stream it was last recorded on (NULL: never recorded, complete)
    uint64_t seq;
};
bool event_done(const event_rec *e) { return !e->q || e->q->executed >= e->seq; }

} // namespace

namespace fce {

void syncthreads() { wait_here(AT_BARRIER); }

uint64_t warp_op(int op, unsigned mask, uint64_t v, int arg, int width) {
    if (!current) fce_fatal("a warp exchange outside a kernel");
    unsigned lane = (unsigned)(current - &fibers[0]) % 32;
    if (!(mask >> lane & 1))
        fce_fatal("kernel %s: lane %u calls a warp exchange whose mask %08x leaves it out", kernel_name, lane, mask);
    if (width <= 0 || width > 32 || (width & (width - 1)))
        fce_fatal("kernel %s: warp exchange width %d is not a power of two up to 32", kernel_name, width);
    current->op = op;
    current->mask = mask;
    current->value = v;
    current->arg = arg;
    current->width = width;
    wait_here(AT_WARP);
    return current->result;
}

void run_grid(const char *name, dim3 grid, dim3 block, const std::function<void()> &body) {
    static bool seeded;
    if (!seeded) { // FCE_SEED: another order of blocks and threads (a race shows as a changed result)
        const char *e = getenv("FCE_SEED");
        if (e && strtoull(e, nullptr, 10)) rng_state = strtoull(e, nullptr, 10) * 0x9e3779b97f4a7c15ull;
        seeded = true;
    }
    uint64_t threads = (uint64_t)block.x * block.y * block.z;
    if (fibers.size() < threads) fibers.resize(threads);
    kernel_name = name;
    thread_body = &body;
    grid_dim = grid;
    block_dim = block;
    uint64_t n_blocks = (uint64_t)grid.x * grid.y * grid.z;
    std::vector<unsigned> block_order(n_blocks), order(threads);
    for (unsigned i = 0; i < n_blocks; i++) block_order[i] = i;
    for (unsigned i = 0; i < threads; i++) order[i] = i;
    shuffle(block_order);
    for (unsigned b : block_order) {
        block_idx = uint3{b % grid.x, (b / grid.x) % grid.y, b / (grid.x * grid.y)};
        run_block((unsigned)threads, order);
    }
}

// FCE_STATS=1: at exit, each kernel's launch count (which kernels a test run reached at all).
// FCE_KERNELS=file (one kernel name a line; cmake/cuda_emu.cmake writes every __global__ of
// src/ops/cuda): at exit, a kernel of the list that never ran fails the process, so a kernel no
// device test reaches cannot go unnoticed.
std::map<std::string, uint64_t> *launch_counts;
void print_launch_counts() {
    if (getenv("FCE_STATS"))
        for (auto &kv : *launch_counts)
            fprintf(stderr, "fce launches %8llu %s\n", (unsigned long long)kv.second, kv.first.c_str());
    const char *list = getenv("FCE_KERNELS");
    FILE *f = list ? fopen(list, "r") : nullptr;
    if (!f) return;
    std::set<std::string> ran;
    for (auto &kv : *launch_counts) ran.insert(kv.first.substr(0, kv.first.find('<'))); // kernel<T>: kernel
    char line[256];
    int missing = 0;
    while (fgets(line, sizeof line, f)) {
        std::string k(line);
        while (!k.empty() && (k.back() == '\n' || k.back() == ' ')) k.pop_back();
        if (!k.empty() && !ran.count(k)) {
            fprintf(stderr, "CUDA emulator: kernel %s was never launched (no device test reaches it)\n", k.c_str());
            missing++;
        }
    }
    fclose(f);
    if (missing) {
        fflush(stderr);
        _exit(3);
    }
}
void count_launch(const char *name) {
    static bool on = getenv("FCE_STATS") != nullptr || getenv("FCE_KERNELS") != nullptr;
    if (!on) return;
    std::lock_guard<std::recursive_mutex> g(device_lock);
    if (!launch_counts) {
        launch_counts = new std::map<std::string, uint64_t>;
        atexit(print_launch_counts);
    }
    (*launch_counts)[name]++;
}

// The launch is checked now (cudaGetLastError reports a refused shape at once, as CUDA does); the
// grid runs when its stream gets to it.
void run_kernel(const char *name, dim3 grid, dim3 block, size_t smem, cudaStream_t s, std::function<void()> body) {
    uint64_t threads = (uint64_t)block.x * block.y * block.z;
    if (!block.x || !block.y || !block.z || block.x > 1024 || block.y > 1024 || block.z > 64 || threads > 1024 ||
        !grid.x || !grid.y || !grid.z || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535 || smem > (48u << 10)) {
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    if (!live_stream(s)) {
        fail(cudaErrorInvalidResourceHandle);
        return;
    }
    count_launch(name);
    enqueue(s, [name, grid, block, body]() { run_grid(name, grid, block, body); });
}

} // namespace fce

// ---- the runtime API ------------------------------------------------------------------------------
extern "C" {

int fce_library_pointer_checks = 1;

int fce_is_device(const void *p, size_t n) {
    std::lock_guard<std::mutex> g(mem_lock);
    uintptr_t a = (uintptr_t)p;
    auto it = device_blocks.upper_bound(a);
    if (it == device_blocks.begin()) return 0;
    --it;
    return a >= it->first && a + n <= it->first + it->second;
}

static int is_pinned_or_host(const void *p) { return !fce_is_device(p, 1); }

cudaError_t cudaGetDeviceCount(int *count) {
    int n = device_count();
    *count = n;
    return n > 0 ? cudaSuccess : fail(cudaErrorNoDevice);
}
cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= device_count()) return fail(cudaErrorInvalidDevice);
    current_device = device;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *device) {
    *device = current_device;
    return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }
const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}
const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}
cudaError_t cudaDeviceSynchronize(void) {
    drain_all();
    return cudaSuccess;
}

void fce_defer_host(cudaStream_t s, void (*fn)(void *), void *arg) {
    if (!live_stream(s)) fce_fatal("fce_defer_host on a destroyed stream");
    enqueue(s, [fn, arg]() { fn(arg); });
}
void fce_stream_drain(cudaStream_t s) {
    if (live_stream(s)) drain(queue_of(s));
}

cudaError_t cudaMalloc(void **p, size_t n) {
    if (!p) return fail(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> g(mem_lock);
    size_t want = n ? n : 1;
    if (device_used + want > device_capacity()) return fail(cudaErrorMemoryAllocation);
    void *m = aligned_alloc(256, (want + 255) & ~(size_t)255); // cudaMalloc's alignment
    if (!m) return fail(cudaErrorMemoryAllocation);
    memset(m, 0xff, want);
    device_blocks[(uintptr_t)m] = want;
    device_used += want;
    *p = m;
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    drain_all(); // cudaFree waits for the device
    std::lock_guard<std::mutex> g(mem_lock);
    auto it = device_blocks.find((uintptr_t)p);
    if (it == device_blocks.end()) return fail(cudaErrorInvalidValue);
    memset(p, 0xfe, it->second);
    device_used -= it->second;
    device_blocks.erase(it);
    free(p);
    return cudaSuccess;
}
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned flags) {
    (void)flags;
    if (!p) return fail(cudaErrorInvalidValue);
    void *m = malloc(n ? n : 1);
    if (!m) return fail(cudaErrorMemoryAllocation);
    std::lock_guard<std::mutex> g(mem_lock);
    pinned_blocks.insert(m);
    *p = m;
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t n) { return cudaHostAlloc(p, n, 0); }
cudaError_t cudaFreeHost(void *p) {
    if (!p) return cudaSuccess;
    drain_all(); // as cudaFree
    std::lock_guard<std::mutex> g(mem_lock);
    if (!pinned_blocks.erase(p)) return fail(cudaErrorInvalidValue);
    free(p);
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    std::lock_guard<std::mutex> g(mem_lock);
    *total_bytes = device_capacity();
    *free_bytes = device_capacity() - device_used;
    return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *p) {
    memset(a, 0, sizeof *a);
    if (fce_is_device(p, 1)) {
        a->type = cudaMemoryTypeDevice;
        a->device = 0;
        a->devicePointer = (void *)p;
    } else {
        std::lock_guard<std::mutex> g(mem_lock);
        a->type = pinned_blocks.count((void *)p) ? cudaMemoryTypeHost : cudaMemoryTypeUnregistered;
        a->hostPointer = (void *)p;
    }
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind, cudaStream_t s) {
    if (!live_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    if (!n) return cudaSuccess;
    if (!dst || !src) return fail(cudaErrorInvalidValue);
    int ok = 1;
    switch (kind) {
    case cudaMemcpyHostToDevice: ok = fce_is_device(dst, n) && is_pinned_or_host(src); break;
    case cudaMemcpyDeviceToHost: ok = fce_is_device(src, n) && is_pinned_or_host(dst); break;
    case cudaMemcpyDeviceToDevice: ok = fce_is_device(src, n) && fce_is_device(dst, n); break;
    case cudaMemcpyHostToHost: ok = is_pinned_or_host(src) && is_pinned_or_host(dst); break;
    case cudaMemcpyDefault: break;
    default: ok = 0;
    }
    if (!ok) return fail(cudaErrorInvalidValue);
    enqueue(s, [dst, src, n]() { memmove(dst, src, n); }); // the source is read when the copy runs
    return cudaSuccess;
}
// synchronous: after the legacy stream's work (and the blocking streams'), not the non-blocking ones'
cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind) {
    cudaError_t e = cudaMemcpyAsync(dst, src, n, kind, nullptr);
    if (e == cudaSuccess) drain(&legacy_stream);
    return e;
}
cudaError_t cudaMemsetAsync(void *dst, int v, size_t n, cudaStream_t s) {
    if (!live_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    if (!n) return cudaSuccess;
    if (!fce_is_device(dst, n)) return fail(cudaErrorInvalidValue);
    enqueue(s, [dst, v, n]() { memset(dst, v, n); });
    return cudaSuccess;
}
cudaError_t cudaMemset(void *dst, int v, size_t n) {
    cudaError_t e = cudaMemsetAsync(dst, v, n, nullptr);
    if (e == cudaSuccess) drain(&legacy_stream);
    return e;
}
cudaError_t cudaMemset2DAsync(void *dst, size_t pitch, int v, size_t width, size_t height, cudaStream_t s) {
    if (!live_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    if (!width || !height) return cudaSuccess;
    if (width > pitch || !fce_is_device(dst, pitch * (height - 1) + width)) return fail(cudaErrorInvalidValue);
    enqueue(s, [dst, pitch, v, width, height]() {
        for (size_t r = 0; r < height; r++) memset((char *)dst + r * pitch, v, width);
    });
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
    stream_q *h = new stream_q;
    h->blocking = !(flags & cudaStreamNonBlocking);
    std::lock_guard<std::mutex> g(mem_lock);
    streams.insert(h);
    *s = (cudaStream_t)h;
    return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, 0); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (!s || !live_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    drain(queue_of(s)); // its work still completes
    std::lock_guard<std::mutex> g(mem_lock);
    streams.erase((void *)s);
    delete (stream_q *)s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    if (!live_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::recursive_mutex> g(device_lock);
    if (!s) legacy_order(s);
    drain(queue_of(s));
    return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags) {
    (void)flags;
    event_rec *r = (event_rec *)calloc(1, sizeof(event_rec)); // never recorded: complete
    std::lock_guard<std::mutex> g(mem_lock);
    events.insert(r);
    *e = (cudaEvent_t)r;
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *e) { return cudaEventCreateWithFlags(e, 0); }
static bool live_event(cudaEvent_t e) {
    std::lock_guard<std::mutex> g(mem_lock);
    return e && events.count((void *)e);
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    std::lock_guard<std::mutex> g(mem_lock);
    if (!e || !events.erase((void *)e)) return fail(cudaErrorInvalidResourceHandle);
    free((void *)e);
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    if (!live_event(e) || !live_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::recursive_mutex> g(device_lock);
    event_rec *r = (event_rec *)e;
    r->q = queue_of(s);
    r->seq = r->q->enqueued;
    return cudaSuccess;
}
// Pending: the GPU would still be at it, so the caller hears "not ready" (its fallback runs), and
// the work up to the event is done now, so a polling caller sees it complete next time.
cudaError_t cudaEventQuery(cudaEvent_t e) {
    if (!live_event(e)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::recursive_mutex> g(device_lock);
    event_rec *r = (event_rec *)e;
    if (event_done(r)) return cudaSuccess;
    drain_to(r->q, r->seq);
    return cudaErrorNotReady; // not an error: the last error is left alone, as CUDA does
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    if (!live_event(e)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::recursive_mutex> g(device_lock);
    event_rec *r = (event_rec *)e;
    if (!event_done(r)) drain_to(r->q, r->seq);
    return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags) {
    (void)flags;
    if (!live_event(e) || !live_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::recursive_mutex> g(device_lock);
    event_rec r = *(event_rec *)e; // as recorded now: a later record does not move this wait
    if (!event_done(&r)) enqueue(s, [r]() { drain_to(r.q, r.seq); });
    return cudaSuccess;
}

} // extern "C"
