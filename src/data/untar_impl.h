/* Internals of untar_data shared with the tests (never installed): SHA-256 (FIPS 180-4) and the
 * safe archive extractor. */
#ifndef FASTC_UNTAR_IMPL_H
#define FASTC_UNTAR_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fastc/data.h"

typedef struct fci_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
} fci_sha256;
void fci_sha256_init(fci_sha256 *s);
void fci_sha256_update(fci_sha256 *s, const void *data, size_t n);
void fci_sha256_final(fci_sha256 *s, uint8_t digest[32]);
/* digest of data[n] as 64 lowercase hex digits + NUL */
void fci_sha256_hex(const void *data, size_t n, char hex[65]);
void fci_sha256_to_hex(const uint8_t digest[32], char hex[65]);
/* The file's digest in hex and its size; FC_ERR_IO naming 'who' and the path on failure. */
fc_status fci_sha256_file(const char *who, const char *path, char hex[65], int64_t *size);

/* Extracts the tar (any compression libarchive reads) at 'archive' into 'dir' (an existing, empty
 * folder). Every entry must be a regular file or a folder whose path is relative, has no '..'
 * component and lies under 'top' + "/" (top NULL: anywhere below dir); otherwise FC_ERR_FORMAT
 * naming the archive and the entry, and nothing is written past the entries already extracted. */
fc_status fci_extract_archive(const char *archive, const char *dir, const char *top);

/* Removes path and everything below it (no error when it does not exist). */
fc_status fci_remove_tree(const char *path);

#endif
