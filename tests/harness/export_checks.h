/* Checks on exported learner files (.fcm) shared by the export tests of every application. The
 * file: 24 bytes of header whose bytes 16..23 hold the metadata length (little endian), the
 * metadata JSON, then the safetensors weights. */
#ifndef FCT_EXPORT_CHECKS_H
#define FCT_EXPORT_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "fastc/learner.h"

/* Exports learn to path and reads the file back into *out (malloc'd: free it, even on failure);
 * its size, 0 on failure (counted as a test failure). */
size_t fct_fcm_export_bytes(fc_learner *learn, const char *path, unsigned char **out);
/* The metadata length recorded in the header of the file's bytes b (at least 24 of them). */
uint64_t fct_fcm_meta_len(const unsigned char *b);
/* Writes to dst the file b[0..n) with the first `from` in its metadata replaced by `to` (any
 * length: the header's metadata length is rewritten). 0 when from is not there (nothing written). */
int fct_fcm_patch(const unsigned char *b, size_t n, const char *from, const char *to, const char *dst);
/* load_learner(file) fails with code, a message naming the file and containing fragment. */
void fct_fcm_load_fails(const char *file, fc_status code, const char *fragment);
/* Every truncation of b[0..n) written to bad fails to load with FC_ERR_FORMAT and a message naming
 * bad: each length up to `dense` bytes past the metadata, then every `step`th. 1 when all did (the
 * first that did not is printed). */
int fct_fcm_truncations_fail(const unsigned char *b, size_t n, const char *bad, size_t dense, size_t step);

#endif
