/* Tokenizer throughput: fc_tokenize_docs over the IMDB sample's 1,000 reviews (texts.csv) with 1 and
 * 2 threads, best of 5 runs each, then the vocabulary. Usage: bench_tokenize [repeat = 5]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fastc/fastc.h"

int main(int argc, char **argv) {
    int repeat = argc > 1 ? atoi(argv[1]) : 5;
    const char *dir = fc_untar_data("imdb_sample");
    check(dir != NULL);
    char path[2048];
    snprintf(path, sizeof path, "%s/texts.csv", dir);
    fc_csv *csv = fc_read_csv(path);
    check(csv != NULL);
    int col = fc_csv_col_index(csv, "text");
    int64_t n = fc_csv_n_rows(csv);
    const char **texts = malloc((size_t)n * sizeof *texts);
    fc_tokens *out = calloc((size_t)n, sizeof *out);
    check(texts && out && col >= 0);
    size_t bytes = 0;
    for (int64_t i = 0; i < n; i++) bytes += strlen(texts[i] = fc_csv_cell(csv, i, col));
    printf("imdb_sample: %lld documents, %.2f MB of text\n", (long long)n, (double)bytes / 1e6);
    for (int threads = 1; threads <= 2; threads++) {
        double best = 1e30;
        int64_t n_tok = 0;
        for (int r = 0; r < repeat; r++) {
            double t0 = now_ms();
            check(fc_tokenize_docs(texts, n, out, .n_threads = threads) == FC_OK);
            double ms = now_ms() - t0;
            if (ms < best) best = ms;
            n_tok = 0;
            for (int64_t i = 0; i < n; i++) n_tok += out[i].n;
            if (r + 1 < repeat)
                for (int64_t i = 0; i < n; i++) fc_tokens_free(&out[i]);
        }
        printf("%d thread%s: %lld tokens in %.1f ms (best of %d): %.2f M tokens/s, %.1f MB/s\n", threads,
               threads > 1 ? "s" : " ", (long long)n_tok, best, repeat, (double)n_tok / best / 1e3,
               (double)bytes / best / 1e3);
        if (threads < 2)
            for (int64_t i = 0; i < n; i++) fc_tokens_free(&out[i]);
    }
    double t0 = now_ms();
    fc_vocab *v = fc_vocab_from_tokens(out, n);
    check(v != NULL);
    printf("vocab: %lld tokens (min_freq 3) in %.1f ms\n", (long long)fc_vocab_len(v), now_ms() - t0);
    fc_vocab_free(v);
    for (int64_t i = 0; i < n; i++) fc_tokens_free(&out[i]);
    free(out);
    free(texts);
    fc_csv_free(csv);
    return 0;
}
