/* Internals of the text tokenizer shared by src/text/utf8.c, rules.c, tokenize.c and vocab.c (never
 * installed). */
#ifndef FASTC_TEXT_IMPL_H
#define FASTC_TEXT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fastc/text.h"

/* ---- UTF-8 (utf8.c) ---- */
/* Decodes the code point at s[0..n); *len gets its byte length (1 for an invalid byte, which
 * decodes to U+FFFD). n must be > 0. */
uint32_t fci_utf8_decode(const char *s, size_t n, int *len);
/* Writes cp as UTF-8 into out (4 bytes room); returns the byte count. */
int fci_utf8_encode(uint32_t cp, char *out);
/* Python's str.isspace, str.isalpha-like (letters of the scripts we know), \w, and the simple
 * case mappings of Latin-1, Latin Extended-A, Greek and Cyrillic. fci_cp_lower never changes the
 * UTF-8 length (so offsets of a lowered copy match the original). */
int fci_cp_is_space(uint32_t cp);
int fci_cp_is_alpha(uint32_t cp);
int fci_cp_is_word(uint32_t cp);
int fci_cp_is_upper(uint32_t cp);
int fci_cp_is_lower(uint32_t cp);
uint32_t fci_cp_lower(uint32_t cp);
uint32_t fci_cp_upper(uint32_t cp);

/* ---- growable strings (rules.c) ---- */
typedef struct fci_buf {
    char *p;
    size_t n, cap;
    int oom; /* an append failed: the content is incomplete */
} fci_buf;
void fci_buf_add(fci_buf *b, const char *s, size_t n);
void fci_buf_adds(fci_buf *b, const char *s);
void fci_buf_free(fci_buf *b);

/* fastai's text_proc_rules on one document: returns the processed text (malloc'd, ready for the
 * word split) or NULL with FC_ERR_NOMEM. Invalid UTF-8 becomes U+FFFD first. */
char *fci_text_rules(const char *text, const fc_tokenize_opts *o);
/* Lowercases s in place (same byte length). */
void fci_utf8_lower_inplace(char *s, size_t n);

#endif
