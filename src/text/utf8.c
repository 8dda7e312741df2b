/* UTF-8 decoding and the character classes and case mappings the tokenizer needs. The classes
 * follow Python's str methods (fastai's rules are Python regexes over str) for the scripts a
 * tokenizer for Western text meets: ASCII, Latin-1 supplement, Latin Extended-A and -B, Greek and
 * Cyrillic; other letters (CJK, ...) count as caseless letters. Case mappings are the simple
 * one-to-one ones; Python's few one-to-many mappings (ß -> SS, İ -> i̇) are left unchanged so that
 * lowercasing keeps every byte offset. */
#include "text_impl.h"

uint32_t fci_utf8_decode(const char *str, size_t n, int *len) {
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    *len = 1;
    if (c < 0x80) return c;
    int need;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) need = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) need = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) need = 3, cp = c & 0x07, min = 0x10000;
    else return 0xFFFD;
    if ((size_t)need >= n) return 0xFFFD;
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0xFFFD;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
    *len = need + 1;
    return cp;
}

int fci_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12), o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int fci_cp_is_space(uint32_t cp) { /* str.isspace */
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Letters of the Latin, Greek and Cyrillic blocks, and anything past them that is not in a
 * punctuation, symbol or emoji block. */
int fci_cp_is_alpha(uint32_t cp) {
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    if (cp < 0xC0) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
    if (cp < 0x250) return cp != 0xD7 && cp != 0xF7;
    if (cp < 0x300) return cp < 0x2C2;                               /* IPA, modifier letters   */
    if (cp < 0x370) return 0;                                        /* combining marks         */
    if (cp < 0x400) return cp != 0x375 && cp != 0x37E && cp != 0x384 && cp != 0x385 && cp != 0x387;
    if (cp < 0x530) return cp < 0x482 || cp > 0x489;
    if (cp >= 0x2000 && cp <= 0x2BFF) return 0;                      /* punctuation, symbols    */
    if (cp >= 0x2E00 && cp <= 0x2E7F) return 0;
    if (cp >= 0x3000 && cp <= 0x303F) return 0;                      /* CJK punctuation         */
    if (cp >= 0xFE30 && cp <= 0xFE4F) return 0;
    if (cp >= 0xFF00 && cp <= 0xFF20) return 0;                      /* fullwidth punctuation   */
    if (cp >= 0xFF3B && cp <= 0xFF40) return 0;
    if (cp >= 0xFF5B && cp <= 0xFF65) return 0;
    if (cp >= 0xFFF0 && cp <= 0xFFFF) return 0;                      /* specials, U+FFFD        */
    if (cp >= 0x1F000 && cp <= 0x1FAFF) return 0;                    /* emoji                   */
    return 1;
}

int fci_cp_is_word(uint32_t cp) { /* Python's \w: alphanumerics and '_' */
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || cp == '_' || fci_cp_is_alpha(cp);
    if (cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE)) return 1;
    return fci_cp_is_alpha(cp);
}

uint32_t fci_cp_lower(uint32_t cp) {
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    if (cp < 0x100) return cp >= 0xC0 && cp <= 0xDE && cp != 0xD7 ? cp + 32 : cp;
    if (cp < 0x180) {
        if (cp == 0x130 || cp == 0x138 || cp == 0x149 || cp == 0x17F) return cp;
        if (cp == 0x178) return 0xFF;
        if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return cp & 1 ? cp + 1 : cp;
        return cp & 1 ? cp : cp + 1;
    }
    if (cp >= 0x370 && cp < 0x400) {
        if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 0x20;
        if (cp == 0x386) return 0x3AC;
        if (cp >= 0x388 && cp <= 0x38A) return cp + 0x25;
        if (cp == 0x38C) return 0x3CC;
        if (cp == 0x38E || cp == 0x38F) return cp + 0x3F;
        return cp;
    }
    if (cp >= 0x400 && cp < 0x530) {
        if (cp < 0x410) return cp + 0x50;
        if (cp < 0x430) return cp + 0x20;
        if (cp < 0x460) return cp;
        if ((cp < 0x482) || (cp >= 0x48A && cp < 0x4C0) || cp >= 0x4D0) return cp & 1 ? cp : cp + 1;
        if (cp == 0x4C0) return 0x4CF;
        if (cp >= 0x4C1 && cp <= 0x4CE) return cp & 1 ? cp + 1 : cp;
        return cp;
    }
    return cp;
}

uint32_t fci_cp_upper(uint32_t cp) {
    if (cp < 0x80) return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    if (cp < 0x100) {
        if (cp == 0xB5) return 0x39C;
        if (cp == 0xFF) return 0x178;
        return cp >= 0xE0 && cp <= 0xFE && cp != 0xF7 ? cp - 32 : cp;
    }
    if (cp < 0x180) {
        if (cp == 0x131) return 'I';
        if (cp == 0x130 || cp == 0x138 || cp == 0x149 || cp == 0x17F || cp == 0x178) return cp;
        if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return cp & 1 ? cp : cp - 1;
        return cp & 1 ? cp - 1 : cp;
    }
    if (cp >= 0x370 && cp < 0x400) {
        if (cp == 0x3C2) return 0x3A3;
        if (cp >= 0x3B1 && cp <= 0x3CB) return cp - 0x20;
        if (cp == 0x3AC) return 0x386;
        if (cp >= 0x3AD && cp <= 0x3AF) return cp - 0x25;
        if (cp == 0x3CC) return 0x38C;
        if (cp == 0x3CD || cp == 0x3CE) return cp - 0x3F;
        return cp;
    }
    if (cp >= 0x400 && cp < 0x530) {
        if (cp >= 0x450 && cp < 0x460) return cp - 0x50;
        if (cp >= 0x430 && cp < 0x450) return cp - 0x20;
        if (cp < 0x460) return cp;
        if ((cp < 0x482) || (cp >= 0x48A && cp < 0x4C0) || cp >= 0x4D0) return cp & 1 ? cp - 1 : cp;
        if (cp == 0x4CF) return 0x4C0;
        if (cp >= 0x4C1 && cp <= 0x4CE) return cp & 1 ? cp : cp - 1;
        return cp;
    }
    return cp;
}

int fci_cp_is_upper(uint32_t cp) { return fci_cp_lower(cp) != cp; }
int fci_cp_is_lower(uint32_t cp) {
    return fci_cp_upper(cp) != cp || cp == 0xDF || cp == 0x138 || cp == 0x149 || cp == 0x17F;
}

/* Python's lower() with its Final_Sigma rule: a capital sigma after a letter and not before one
 * becomes the final form. */
void fci_utf8_lower_inplace(char *s, size_t n) {
    uint32_t prev = 0;
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t cp = fci_utf8_decode(s + i, n - i, &len), lo = fci_cp_lower(cp);
        if (cp == 0x3A3 && fci_cp_is_alpha(prev)) {
            int l2 = 0;
            uint32_t next = i + (size_t)len < n ? fci_utf8_decode(s + i + len, n - i - (size_t)len, &l2) : 0;
            if (!fci_cp_is_alpha(next)) lo = 0x3C2;
        }
        if (lo != cp) fci_utf8_encode(lo, s + i);
        prev = cp;
        i += (size_t)len;
    }
}
