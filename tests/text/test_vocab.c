/* The vocabulary: fastai's make_vocab (specials first, min_freq, max_vocab, ties in order of first
 * appearance, xxfake padding to a multiple of 8 — 8 more when already one, as fastai), lookup with
 * unknowns, numericalize, decode (xxmaj, xxup, xxrep, xxwrep undone), save/load and corrupt files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/text.h"
#include "fct.h"

/* A document from space-separated tokens (no tokenizer involved). */
static fc_tokens doc_of(const char *spec) {
    fc_tokens t = {0};
    size_t n = 1, len = strlen(spec);
    for (const char *c = spec; *c; c++) n += *c == ' ';
    char **tok = malloc(n * sizeof *tok + len + 1);
    if (!tok) return t;
    char *w = (char *)(tok + n);
    memcpy(w, spec, len + 1);
    t.tok = tok;
    for (char *p = strtok(w, " "); p; p = strtok(NULL, " ")) tok[t.n++] = p;
    return t;
}

FCT_TEST(test_vocab_specials_first_then_by_count_ties_in_order_of_appearance) {
    /* counts: b 4, a 3, d 3 (d after a), c 2, e 5 but rare f 1 */
    fc_tokens docs[2] = {doc_of("a b c d e e"), doc_of("b d a b e e c d a e b f xxmaj")};
    fc_vocab *v = fc_vocab_from_tokens(docs, 2);
    if (FCT_NOTNULL(v)) {
        static const char *want[] = {"xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup",
                                     "xxmaj", "e", "b", "a", "d"};
        FCT_EQ_INT(fc_vocab_len(v), 16); /* 13 rounded up to 16 with xxfake */
        for (int i = 0; i < 13; i++) FCT_STR(fc_vocab_token(v, i), want[i]);
        for (int i = 13; i < 16; i++) FCT_STR(fc_vocab_token(v, i), "xxfake");
        FCT_TRUE(fc_vocab_token(v, 16) == NULL);
        FCT_TRUE(fc_vocab_token(v, -1) == NULL);
        FCT_EQ_INT(fc_vocab_id(v, "a"), 11);
        FCT_EQ_INT(fc_vocab_id(v, "xxmaj"), FC_TOK_MAJ);
        FCT_EQ_INT(fc_vocab_id(v, "c"), FC_TOK_UNK);      /* below min_freq 3 */
        FCT_EQ_INT(fc_vocab_id(v, "xxfake"), FC_TOK_UNK); /* fastai's o2i leaves xxfake out */
        fc_vocab_free(v);
    }
    v = fc_vocab_from_tokens(docs, 2, .min_freq = 1);
    if (FCT_NOTNULL(v)) {
        FCT_EQ_INT(fc_vocab_len(v), 16); /* 9 + e b a d c f = 15 -> 16 */
        FCT_STR(fc_vocab_token(v, 13), "c");
        FCT_STR(fc_vocab_token(v, 14), "f");
        fc_vocab_free(v);
    }
    fc_tokens_free(&docs[0]);
    fc_tokens_free(&docs[1]);
}

FCT_TEST(test_vocab_max_vocab_counts_the_specials_and_pads_like_fastai) {
    fc_tokens d = doc_of("a a a b b b c c c d d d");
    fc_vocab *v = fc_vocab_from_tokens(&d, 1, .max_vocab = 11);
    if (FCT_NOTNULL(v)) { /* most_common(11) keeps all 4, then vocab[:11]: 9 specials + a b */
        FCT_EQ_INT(fc_vocab_len(v), 16);
        FCT_STR(fc_vocab_token(v, 10), "b");
        FCT_STR(fc_vocab_token(v, 11), "xxfake");
        FCT_EQ_INT(fc_vocab_id(v, "c"), FC_TOK_UNK);
        fc_vocab_free(v);
    }
    fc_tokens_free(&d);
    /* 9 specials + 7 words = 16, already a multiple of 8: fastai's 8 - len % 8 adds 8 more */
    d = doc_of("a a a b b b c c c d d d e e e f f f g g g");
    v = fc_vocab_from_tokens(&d, 1);
    if (FCT_NOTNULL(v)) {
        FCT_EQ_INT(fc_vocab_len(v), 24);
        FCT_STR(fc_vocab_token(v, 15), "g");
        FCT_STR(fc_vocab_token(v, 16), "xxfake");
        fc_vocab_free(v);
    }
    fc_tokens_free(&d);
    FCT_NULL(fc_vocab_from_tokens(&d, 1, .min_freq = -1));
    FCT_ERROR(FC_ERR_ARG, ".min_freq must be > 0, found -1");
}

FCT_TEST(test_vocab_numericalize_maps_unknowns_to_xxunk) {
    fc_vocab *v = fc_vocab_new((const char *const[]){"xxunk", "xxpad", "xxbos", "hello", "world"}, 5);
    fc_tokens d = doc_of("xxbos hello there world");
    fc_tensor *ids = fc_vocab_numericalize(v, &d);
    if (FCT_NOTNULL(ids)) {
        FCT_EQ_INT(fc_tensor_numel(ids), 4);
        FCT_TRUE(fc_tensor_dtype(ids) == FC_DTYPE_I64);
        const int64_t *p = fc_tensor_data(ids);
        FCT_EQ_INT(p[0], 2);
        FCT_EQ_INT(p[1], 3);
        FCT_EQ_INT(p[2], 0);
        FCT_EQ_INT(p[3], 4);
        fc_tensor_free(ids);
    }
    fc_tokens_free(&d);
    fc_vocab_free(v);
    FCT_NULL(fc_vocab_new((const char *const[]){"a", NULL}, 2));
    FCT_ERROR(FC_ERR_ARG, "vocab_new: tokens[1] is NULL");
}

FCT_TEST(test_vocab_decode_undoes_the_rules) {
    const char *text = "This is SO good!!!! ah ah ah. The END";
    fc_tokens t;
    if (!FCT_OK(fc_tokenize(text, &t))) return;
    fc_vocab *v = fc_vocab_from_tokens(&t, 1, .min_freq = 1);
    fc_tensor *ids = fc_vocab_numericalize(v, &t);
    if (FCT_NOTNULL(ids)) {
        char *s = fc_vocab_decode(v, fc_tensor_data(ids), fc_tensor_numel(ids));
        FCT_STR(s, "This is SO good !!!! ah ah ah . The END");
        free(s);
        fc_tensor_free(ids);
    }
    /* a repeated capitalized word: fastai's rules give xxwrep 3 xxmaj go */
    fc_tokens_free(&t);
    if (FCT_OK(fc_tokenize("Go Go Go now", &t))) {
        fc_vocab *v2 = fc_vocab_from_tokens(&t, 1, .min_freq = 1);
        fc_tensor *i2 = fc_vocab_numericalize(v2, &t);
        if (FCT_NOTNULL(i2)) {
            char *s = fc_vocab_decode(v2, fc_tensor_data(i2), fc_tensor_numel(i2));
            FCT_STR(s, "Go Go Go now");
            free(s);
            fc_tensor_free(i2);
        }
        fc_vocab_free(v2);
        fc_tokens_free(&t);
    }
    int64_t bad = 99;
    FCT_NULL(fc_vocab_decode(v, &bad, 1));
    FCT_ERROR(FC_ERR_ARG, "ids[0] = 99 is outside the vocabulary");
    int64_t pad[] = {FC_TOK_PAD, FC_TOK_PAD, FC_TOK_BOS};
    char *empty = fc_vocab_decode(v, pad, 3);
    FCT_STR(empty, "");
    free(empty);
    fc_vocab_free(v);
}

static void write_text(const char *path, const char *s) { fct_write_file(path, s, strlen(s)); }

FCT_TEST(test_vocab_save_load_round_trip_and_corrupt_files) {
    const char *toks[] = {"xxunk", "xxpad", "\n", "\n\n\xe2\x96\x81", "a\\b", "\\n", "caf\xc3\xa9", "xxfake", "", "x\ry"};
    fc_vocab *v = fc_vocab_new(toks, 10);
    const char *path = "vocab_test.txt";
    if (FCT_OK(fc_vocab_save(v, path))) {
        fc_vocab *w = fc_vocab_load(path);
        if (FCT_NOTNULL(w)) {
            FCT_EQ_INT(fc_vocab_len(w), 10);
            for (int i = 0; i < 10; i++) FCT_STR(fc_vocab_token(w, i), toks[i]);
            FCT_EQ_INT(fc_vocab_id(w, "\n"), 2);
            fc_vocab_free(w);
        }
    }
    FCT_TRUE(access("vocab_test.txt.tmp", F_OK) != 0);
    /* truncated: one token short */
    write_text(path, "fastc-vocab 1 3\nxxunk\nxxpad\n");
    FCT_NULL(fc_vocab_load(path));
    FCT_ERROR(FC_ERR_FORMAT, "is truncated: expected 3 tokens, found 2");
    write_text(path, "fastc-vocab 1 3\nxxunk\nxxpad\nb");
    FCT_NULL(fc_vocab_load(path));
    FCT_ERROR(FC_ERR_FORMAT, "is truncated");
    write_text(path, "xxunk\nxxpad\n");
    FCT_NULL(fc_vocab_load(path));
    FCT_ERROR(FC_ERR_FORMAT, "is not a fastc vocabulary");
    write_text(path, "fastc-vocab 1 1\nab\\q\n");
    FCT_NULL(fc_vocab_load(path));
    FCT_ERROR(FC_ERR_FORMAT, "line 2: expected an escape");
    write_text(path, "fastc-vocab 1 1\nab\xff\n");
    FCT_NULL(fc_vocab_load(path));
    FCT_ERROR(FC_ERR_FORMAT, "line 2: expected UTF-8 text");
    write_text(path, "fastc-vocab 1 1\na\nb\n");
    FCT_NULL(fc_vocab_load(path));
    FCT_ERROR(FC_ERR_FORMAT, "found more lines");
    remove(path);
    FCT_NULL(fc_vocab_load(path));
    FCT_ERROR(FC_ERR_IO, "vocab_load: cannot open 'vocab_test.txt'");
    FCT_TRUE(fc_vocab_save(v, "no_such_dir/v.txt") == FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "vocab_save: cannot create 'no_such_dir/v.txt.tmp-");
    fc_vocab_free(v);
}
