/* The tokenizer: fastai 2.7's rules one by one (expected outputs from fastai's own text.core tests
 * where it has them: "This isn't a problem", replace_rep/wrep, fix_html, replace_all_caps/maj),
 * the spaCy-style word split (contractions, punctuation, numbers, URLs, hyphens, newlines), UTF-8
 * case rules and invalid bytes, the options, and thread-count independence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/text.h"
#include "fct.h"

/* Checks the tokens of text against want: tokens separated by single spaces (tokens never hold a
 * space: fastai turns one into U+2581). */
static void expect_toks_(const char *text, const char *want, const fc_tokenize_opts *o, int line) {
    fc_tokens t;
    if (!fct_ok(fc_tokenize_(text, &t, o), "fc_tokenize", __FILE__, line)) return;
    char got[4096] = "";
    size_t used = 0;
    for (int64_t i = 0; i < t.n && used < sizeof got; i++)
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%s", i ? " " : "", t.tok[i]);
    fct_check(!strcmp(got, want), __FILE__, line, "tokenize(\"%s\"):\n  expected [%s]\n  found    [%s]", text,
              want, got);
    fc_tokens_free(&t);
}
#define EXPECT_TOKS(text, want, ...) \
    expect_toks_((text), (want), &(fc_tokenize_opts){._ = 0, __VA_ARGS__}, __LINE__)

FCT_TEST(test_text_special_tokens_in_fastai_order) {
    static const char *want[] = {"xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj"};
    for (int k = 0; k < FC_TEXT_N_SPECIAL; k++) FCT_STR(fc_text_special[k], want[k]);
    FCT_STR(fc_text_special[FC_TOK_UNK], "xxunk");
    FCT_STR(fc_text_special[FC_TOK_MAJ], "xxmaj");
}

FCT_TEST(test_tokenize_fastai_doc_examples) {
    EXPECT_TOKS("This is a test", "xxbos xxmaj this is a test");
    EXPECT_TOKS("This isn't a problem", "xxbos xxmaj this is n't a problem");
    EXPECT_TOKS("This isn't the easiest text.", "xxbos xxmaj this is n't the easiest text .");
}

FCT_TEST(test_tokenize_xxbos_xxeos_and_empty) {
    EXPECT_TOKS("", "xxbos");
    EXPECT_TOKS("  \n ", "xxbos");
    EXPECT_TOKS("hi there", "hi there", .no_bos = 1);
    EXPECT_TOKS("hi there", "xxbos hi there xxeos", .add_eos = 1);
    EXPECT_TOKS("", "", .no_bos = 1);
}

FCT_TEST(test_tokenize_replace_rep_from_three) {
    EXPECT_TOKS("aa", "xxbos aa");                       /* fastai: "aa" stays                   */
    EXPECT_TOKS("cccc", "xxbos xxrep 4 c");               /* fastai: " xxrep 4 c "                 */
    EXPECT_TOKS("sooo good", "xxbos s xxrep 3 o good");   /* (\S)(\1{2,}): three or more           */
    EXPECT_TOKS("Wowww", "xxbos xxmaj wo xxrep 3 w");
    EXPECT_TOKS("ok!!!!!", "xxbos ok xxrep 5 !");
    EXPECT_TOKS("a    b", "xxbos a b");                   /* spaces are never repeated characters  */
}

FCT_TEST(test_tokenize_replace_wrep_from_three) {
    EXPECT_TOKS("ah ah", "xxbos ah ah");
    EXPECT_TOKS("ah ah ah", "xxbos xxwrep 3 ah");
    EXPECT_TOKS("ah ah   ah  ah", "xxbos xxwrep 4 ah");
    EXPECT_TOKS("ah ah ah ah.", "xxbos xxwrep 4 ah .");
    EXPECT_TOKS("ah ah ahi", "xxbos ah ah ahi");
    EXPECT_TOKS("he said no no no no to it", "xxbos he said xxwrep 4 no to it");
    /* the greedy repetition backs off to the last whole copy */
    EXPECT_TOKS("go go go gone", "xxbos xxwrep 3 go gone");
    /* the regex consumes the character after the last copy, so the next run needs its own space */
    EXPECT_TOKS("a a a b b b", "xxbos xxwrep 3 a b b b");
}

FCT_TEST(test_tokenize_fix_html_as_fastai) {
    EXPECT_TOKS("#39;bli#146;", "xxbos ' bli '");
    EXPECT_TOKS("Sarah amp; Duck...", "xxbos xxmaj sarah & xxmaj duck \xe2\x80\xa6");
    EXPECT_TOKS("a nbsp; #36;", "xxbos a $");
    EXPECT_TOKS("\\\" <unk>", "xxbos \" xxunk");
    EXPECT_TOKS("<br />text\\n", "xxbos text"); /* "\ntext\n", then lowercase's strip() */
    EXPECT_TOKS("a<br />text", "xxbos a \n text");
    EXPECT_TOKS("Good.<br /><br />Bad", "xxbos xxmaj good . \n\n xxmaj bad");
    EXPECT_TOKS("quot;hiquot;", "xxbos ' hi '");
    EXPECT_TOKS("1 @.@ 5 and re @-@ do", "xxbos 1.5 and re - do");
    /* then html.unescape */
    EXPECT_TOKS("&lt;tag&gt;", "xxbos < tag >");
    EXPECT_TOKS("caf&eacute; &#233;t&#xE9;", "xxbos caf\xc3\xa9 \xc3\xa9t\xc3\xa9");
    /* fastai's "amp;" -> "&" leaves the entity's own '&': "&amp;" is "&&", as in fastai */
    EXPECT_TOKS("Tom &amp; Jerry", "xxbos xxmaj tom & & xxmaj jerry");
}

FCT_TEST(test_tokenize_spec_add_spaces_and_useless_spaces) {
    EXPECT_TOKS("#fastai /fastai", "xxbos # fastai / fastai");
    EXPECT_TOKS("a\\b", "xxbos a \\ b");
    EXPECT_TOKS("and/or 1/2", "xxbos and / or 1 / 2");
    EXPECT_TOKS("a  b   c", "xxbos a b c");
}

FCT_TEST(test_tokenize_xxup_all_caps) {
    EXPECT_TOKS("I'M SHOUTING", "xxbos xxup i 'm xxup shouting");
    EXPECT_TOKS("I am speaking normally", "xxbos i am speaking normally");
    EXPECT_TOKS("THIS isn't a problem", "xxbos xxup this is n't a problem");
    EXPECT_TOKS("HTTP404 error", "xxbos xxup http404 error");
    EXPECT_TOKS("GREAT!!!", "xxbos xxup great xxrep 3 !");
    EXPECT_TOKS("A B", "xxbos a b"); /* one letter: lowercased, no marker */
}

FCT_TEST(test_tokenize_xxmaj_capitalized) {
    EXPECT_TOKS("Jeremy Howard", "xxbos xxmaj jeremy xxmaj howard");
    EXPECT_TOKS("I don't think there is any maj here", "xxbos i do n't think there is any maj here");
    EXPECT_TOKS("I'm here", "xxbos xxmaj i 'm here");
    EXPECT_TOKS("McDonald (Paris)", "xxbos mcdonald ( paris )"); /* neither rule's pattern */
    EXPECT_TOKS("Hello, World!", "xxbos xxmaj hello , xxmaj world !");
}

FCT_TEST(test_tokenize_contractions_like_spacy) {
    EXPECT_TOKS("don't can't won't you're we'll they've he'd it's let's",
                "xxbos do n't ca n't wo n't you 're we 'll they 've he 'd it 's let 's");
    EXPECT_TOKS("gonna cannot dont im", "xxbos gon na can not do nt i m");
    EXPECT_TOKS("john's dogs' shouldn't've", "xxbos john 's dogs ' should n't 've");
    EXPECT_TOKS("well its ill", "xxbos well its ill"); /* spaCy's excluded words */
    EXPECT_TOKS("(don't)", "xxbos ( do n't )");
    EXPECT_TOKS("it\xe2\x80\x99s", "xxbos it \xe2\x80\x99s");
}

FCT_TEST(test_tokenize_punctuation_numbers_urls) {
    EXPECT_TOKS("Hello, world! (test) \"quoted\" end.", "xxbos xxmaj hello , world ! ( test ) \" quoted \" end .");
    EXPECT_TOKS("costs $5.50, or 3.14 and 1,250", "xxbos costs $ 5.50 , or 3.14 and 1,250");
    EXPECT_TOKS("10km at 5pm, 100% e.g. a.m.", "xxbos 10 km at 5 pm , 100 % e.g. a.m.");
    EXPECT_TOKS("see imdb.com or mail me@x.org.", "xxbos see imdb.com or mail me@x.org .");
    EXPECT_TOKS("well-known 1-2 a,b a:b", "xxbos well - known 1 - 2 a , b a : b");
    EXPECT_TOKS("wait...what", "xxbos wait \xe2\x80\xa6 what");
    EXPECT_TOKS("Mr. Smith", "xxbos xxmaj mr . xxmaj smith");
    EXPECT_TOKS("end;next", "xxbos end;next");
    EXPECT_TOKS("really?!", "xxbos really ? !");
}

FCT_TEST(test_tokenize_newlines_are_tokens) {
    EXPECT_TOKS("a\nb", "xxbos a \n b");
    EXPECT_TOKS("a\n\nb", "xxbos a \n\n b");
    /* spaCy drops the first space of a run, the rest stays in the token; fastai's replace_space
     * then writes U+2581 for it */
    EXPECT_TOKS("a \n b", "xxbos a \n\xe2\x96\x81 b");
    EXPECT_TOKS("a\tb", "xxbos a \t b");
}

FCT_TEST(test_tokenize_unicode_case) {
    EXPECT_TOKS("\xc3\x89""COLE \xc3\x89lan", "xxbos xxup \xc3\xa9""cole xxmaj \xc3\xa9lan");
    /* Greek with Python's final sigma, Cyrillic, Latin Extended-A */
    EXPECT_TOKS("\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3",
                "xxbos xxup \xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82");
    EXPECT_TOKS("\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xd0\x9c\xd0\x98\xd0\xa0",
                "xxbos xxmaj \xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 xxup \xd0\xbc\xd0\xb8\xd1\x80");
    EXPECT_TOKS("\xc5\x81\xc3\x93\x44\xc5\xb9 \xc5\x81\xc3\xb3\x64\xc5\xba",
                "xxbos xxup \xc5\x82\xc3\xb3\x64\xc5\xba xxmaj \xc5\x82\xc3\xb3\x64\xc5\xba");
    EXPECT_TOKS("na\xc3\xafve caf\xc3\xa9s", "xxbos na\xc3\xafve caf\xc3\xa9s");
}

FCT_TEST(test_tokenize_invalid_utf8_becomes_replacement_char) {
    EXPECT_TOKS("ab\xff""cd", "xxbos ab\xef\xbf\xbd""cd");
    EXPECT_TOKS("x \xc3", "xxbos x \xef\xbf\xbd");                  /* truncated sequence   */
    /* a surrogate: one U+FFFD per byte, then replace_rep sees three in a row */
    EXPECT_TOKS("\xed\xa0\x80", "xxbos xxrep 3 \xef\xbf\xbd");
    EXPECT_TOKS("\xc0\xaf", "xxbos \xef\xbf\xbd\xef\xbf\xbd");       /* overlong '/'          */
}

FCT_TEST(test_tokenize_no_lower_keeps_case) {
    EXPECT_TOKS("This isn't GREAT", "xxbos This is n't GREAT", .no_lower = 1);
    EXPECT_TOKS("Hello, World.", "Hello , World .", .no_lower = 1, .no_bos = 1);
}

FCT_TEST(test_tokenize_rejects_null) {
    fc_tokens t;
    FCT_TRUE(fc_tokenize(NULL, &t) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "tokenize: expected a text, found NULL");
    FCT_TRUE(fc_tokenize("x", NULL) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "tokenize: expected an output fc_tokens");
    const char *texts[] = {"a", NULL};
    fc_tokens out[2];
    FCT_TRUE(fc_tokenize_docs(texts, 2, out) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "tokenize_docs: texts[1] is NULL");
    FCT_TRUE(fc_tokenize_docs(texts, -1, out) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected n >= 0, found -1");
    FCT_TRUE(fc_tokenize_docs(texts, 1, out, .n_threads = -2) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".n_threads must be >= 0, found -2");
    fc_tokens_free(NULL);
}

/* ---- documents in parallel ---- */

static char *random_doc(fc_rng *g) {
    static const char *words[] = {"The", "movie", "was", "GREAT", "don't", "it's", "!!!", "<br /><br />",
                                  "Hello,", "world.", "ah", "ah", "ah", "sooo", "caf\xc3\xa9", "\xc3\x89T\xc3\x89",
                                  "(really)", "U.S.", "&amp;", "e.g.", "10km", "well-known", "#tag", "a/b",
                                  "\n", "I'm", "Москва", "\xff"};
    int n_words = 5 + (int)(fc_rng_u32(g) % 60);
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    for (int i = 0; s && i < n_words; i++) {
        const char *w = words[fc_rng_u32(g) % (sizeof words / sizeof words[0])];
        size_t l = strlen(w);
        while (n + l + 2 > cap) cap *= 2, s = realloc(s, cap);
        if (!s) break;
        memcpy(s + n, w, l), n += l;
        s[n++] = fc_rng_u32(g) % 5 ? ' ' : '\n';
    }
    if (s) s[n] = '\0';
    return s;
}

FCT_TEST(test_tokenize_docs_same_for_any_thread_count) {
    enum { N = 403 };
    fc_rng g = fc_rng_new(3);
    char *texts[N];
    fc_tokens one[N], par[N];
    for (int i = 0; i < N; i++) texts[i] = random_doc(&g);
    for (int i = 0; i < N; i++) FCT_OK(fc_tokenize(texts[i], &one[i]));
    static const int threads[] = {1, 2, 3, 8};
    for (int k = 0; k < 4; k++) {
        if (!FCT_OK(fc_tokenize_docs((const char *const *)texts, N, par, .n_threads = threads[k]))) continue;
        int same = 1;
        for (int i = 0; i < N && same; i++) {
            same = par[i].n == one[i].n;
            for (int64_t j = 0; same && j < one[i].n; j++) same = !strcmp(par[i].tok[j], one[i].tok[j]);
            if (!same) fct_check(0, __FILE__, __LINE__, "%d threads: document %d differs", threads[k], i);
        }
        for (int i = 0; i < N; i++) fc_tokens_free(&par[i]);
    }
    for (int i = 0; i < N; i++) {
        fc_tokens_free(&one[i]);
        free(texts[i]);
    }
    FCT_OK(fc_tokenize_docs(NULL, 0, NULL));
}
