/* The BPE subword tokenizer: Sennrich et al.'s example corpus gives the merges worked out by hand
 * (es, est, ▁l, ow, ▁low — ties to the lowest symbol ids), encoding applies them by rank, decode
 * undoes encode, unseen characters stay single pieces, and bad arguments fail. */
#include <stdlib.h>
#include <string.h>

#include "fastc/text.h"
#include "fct.h"

#define W "\xe2\x96\x81" /* U+2581, the word-start mark */

static const char *const corpus[] = {
    "low low low low low lower lower", "newest newest newest newest newest newest",
    "widest  widest\nwidest"};

FCT_TEST(test_bpe_learns_the_hand_computed_merges) {
    fc_bpe *b = fc_bpe_train(corpus, 3, .vocab_sz = 16);
    if (!FCT_NOTNULL(b)) return;
    FCT_EQ_INT(fc_bpe_len(b), 16);
    static const char *base[] = {W, "l", "o", "w", "e", "r", "n", "s", "t", "i", "d"};
    for (int i = 0; i < 11; i++) FCT_STR(fc_bpe_symbol(b, i), base[i]);
    FCT_STR(fc_bpe_symbol(b, 11), "es");
    FCT_STR(fc_bpe_symbol(b, 12), "est");
    FCT_STR(fc_bpe_symbol(b, 13), W "l");
    FCT_STR(fc_bpe_symbol(b, 14), "ow");
    FCT_STR(fc_bpe_symbol(b, 15), W "low");
    FCT_TRUE(fc_bpe_symbol(b, 16) == NULL);
    fc_tokens t;
    if (FCT_OK(fc_bpe_encode(b, "lowest  newer z", &t))) {
        static const char *want[] = {W "low", "est", W, "n", "e", "w", "e", "r", W, "z"};
        FCT_EQ_INT(t.n, 10);
        for (int i = 0; i < 10 && i < t.n; i++) FCT_STR(t.tok[i], want[i]);
        char *s = fc_bpe_decode(&t);
        FCT_STR(s, "lowest newer z");
        free(s);
        fc_tokens_free(&t);
    }
    fc_bpe_free(b);
}

FCT_TEST(test_bpe_stops_when_no_pair_repeats_and_round_trips) {
    fc_bpe *b = fc_bpe_train(corpus, 3, .vocab_sz = 100000);
    if (!FCT_NOTNULL(b)) return;
    /* every word is one symbol once merged through: ▁low ▁lower ▁newest ▁widest and their prefixes */
    fc_tokens t;
    if (FCT_OK(fc_bpe_encode(b, "newest widest low lower", &t))) {
        FCT_EQ_INT(t.n, 4);
        FCT_STR(t.tok[0], W "newest");
        FCT_STR(t.tok[3], W "lower");
        fc_tokens_free(&t);
    }
    const char *text = "caf\xc3\xa9 l\xc3\xb6w \xff end";
    if (FCT_OK(fc_bpe_encode(b, text, &t))) {
        char *s = fc_bpe_decode(&t);
        FCT_STR(s, "caf\xc3\xa9 l\xc3\xb6w \xef\xbf\xbd end"); /* invalid bytes become U+FFFD */
        free(s);
        fc_tokens_free(&t);
    }
    fc_bpe_free(b);
    /* the same corpus gives the same symbols */
    fc_bpe *b1 = fc_bpe_train(corpus, 3, .vocab_sz = 30), *b2 = fc_bpe_train(corpus, 3, .vocab_sz = 30);
    if (FCT_NOTNULL(b1) && FCT_NOTNULL(b2)) {
        FCT_EQ_INT(fc_bpe_len(b1), fc_bpe_len(b2));
        for (int64_t i = 0; i < fc_bpe_len(b1); i++) FCT_STR(fc_bpe_symbol(b1, i), fc_bpe_symbol(b2, i));
    }
    fc_bpe_free(b1);
    fc_bpe_free(b2);
}

FCT_TEST(test_bpe_rejects_bad_arguments) {
    FCT_NULL(fc_bpe_train(corpus, 3, .vocab_sz = -5));
    FCT_ERROR(FC_ERR_ARG, "bpe_train: .vocab_sz must be in [1, 2^31), found -5");
    const char *with_null[] = {"a", NULL};
    FCT_NULL(fc_bpe_train(with_null, 2));
    FCT_ERROR(FC_ERR_ARG, "bpe_train: texts[1] is NULL");
    fc_tokens t;
    FCT_TRUE(fc_bpe_encode(NULL, "x", &t) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "bpe_encode: expected a bpe and a text");
    FCT_NULL(fc_bpe_decode(NULL));
    FCT_ERROR(FC_ERR_ARG, "bpe_decode: expected pieces");
}
