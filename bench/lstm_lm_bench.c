/* AWD-LSTM language-model training speed: tokens per second of one full step (forward with every
 * AWD dropout on, flattened cross entropy, backward, Adam step, grads dropped) on random tokens,
 * the kept hidden state carried from step to step as in training. Twin: bench/torch_lstm_lm.py
 * (the same model ported from fastai, same sizes and threads).
 * Usage: lstm_lm_bench [config=all|big|small] [steps] [seq_len] — prints BENCH lines with the median
 * step (FASTC_THREADS: threads, default 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fastc/fastc.h"

typedef struct config {
    const char *name;
    int64_t vocab, emb, hid;
    int layers;
    int64_t bs, seq;
    int steps;
} config;

static const config configs[] = {
    {"big", 10000, 400, 1152, 3, 64, 72, 3},   /* fastai's AWD-LSTM at WikiText-103 vocab scale */
    {"small", 2000, 128, 256, 2, 32, 72, 10},
};

static void run(config cfg, int steps) {
    const config *c = &cfg;
    fc_manual_seed(0);
    fc_module *lm = fc_awd_lstm_lm(c->vocab, .emb_sz = c->emb, .n_hid = c->hid, .n_layers = c->layers);
    fc_optimizer *opt = fc_adam_new(fc_params_of(lm), .lr = 1e-3);
    check(lm && opt);
    int64_t n = c->bs * c->seq;
    fc_tensor *x = fc_keep(fc_randint(0, c->vocab, FC_SHAPE(c->bs, c->seq)));
    fc_tensor *y = fc_keep(fc_randint(0, c->vocab, FC_SHAPE(n)));
    double *ms = calloc((size_t)steps + 2, sizeof *ms);
    float loss = 0;
    for (int i = 0; i < steps + 2; i++) { /* the first two are warm-up */
        double t0 = now_ms();
        fc_scope *s = fc_scope_begin();
        fc_tensor *logits = fc_module_forward(lm, x);
        fc_tensor *l = fc_cross_entropy(fc_reshape(logits, FC_SHAPE(n, c->vocab)), y);
        check(fc_backward(l) == FC_OK && fc_optimizer_step(opt) == FC_OK);
        loss = (float)fc_tensor_item(l);
        fc_optimizer_zero_grad(opt);
        fc_scope_end(s);
        ms[i] = now_ms() - t0;
    }
    qsort(ms + 2, (size_t)steps, sizeof *ms, cmp);
    double med = ms[2 + steps / 2];
    printf("BENCH name=lstm_lm_%s ms=%.1f tokens_per_s=%.0f loss=%.3f (vocab %lld emb %lld hid %lld "
           "layers %d bs %lld seq %lld, %d steps)\n", c->name, med, n / (med / 1e3), loss,
           (long long)c->vocab, (long long)c->emb, (long long)c->hid, c->layers, (long long)c->bs,
           (long long)c->seq, steps);
    fflush(stdout);
    free(ms);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_optimizer_free(opt);
    fc_module_free(lm);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    int steps = argc > 2 ? atoi(argv[2]) : 0;
    fc_set_num_threads(getenv("FASTC_THREADS") ? atoi(getenv("FASTC_THREADS")) : 2);
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++)
        if (!strcmp(which, "all") || !strcmp(which, configs[i].name))
            {
            config c = configs[i];
            if (argc > 3) c.seq = atoi(argv[3]);
            run(c, steps > 0 ? steps : c.steps);
        }
    return 0;
}
