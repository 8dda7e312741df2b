/* untar_data: SHA-256 against FIPS 180-4 vectors and sha256sum, extraction of the real
 * mnist_sample/mnist_tiny archives into the build dir, the marker and force, a corrupted archive,
 * a missing archive, a download (file:// URL), and archives with unsafe entries. */
#define _XOPEN_SOURCE 700
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/untar_impl.h"
#include "data_dir.h"
#include "fastc/data.h"
#include "fct.h"

static void expect_hex(const char *msg, size_t n, const char *want) {
    char hex[65];
    fci_sha256_hex(msg, n, hex);
    fct_check(!strcmp(hex, want), __FILE__, __LINE__, "sha256 of %zu bytes: expected %s, found %s", n,
              want, hex);
}

FCT_TEST(test_sha256_fips_180_vectors) {
    expect_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect_hex(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    char *a = malloc(1000000);
    if (!FCT_TRUE(a != NULL)) return;
    memset(a, 'a', 1000000);
    expect_hex(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* The same digest when fed in uneven pieces (buffer boundaries at every offset mod 64). */
    fci_sha256 s;
    uint8_t d[32];
    char hex[65];
    fci_sha256_init(&s);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 131 + 1)
        fci_sha256_update(&s, a + off, off + step > 1000000 ? 1000000 - off : step);
    fci_sha256_final(&s, d);
    fci_sha256_to_hex(d, hex);
    FCT_TRUE(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    free(a);
}

FCT_TEST(test_sha256_file_matches_sha256sum) {
    char path[] = "untar_sha_XXXXXX";
    int fd = mkstemp(path);
    if (!FCT_TRUE(fd >= 0)) return;
    FILE *f = fdopen(fd, "wb");
    fc_rng g = fc_rng_new(7);
    for (int i = 0; i < 300007; i++) fputc((int)(fc_rng_u32(&g) & 255), f);
    fclose(f);
    char cmd[200], want[80] = "", got[65];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    if (FCT_TRUE(p != NULL)) {
        FCT_TRUE(fscanf(p, "%64s", want) == 1);
        pclose(p);
    }
    int64_t size = 0;
    FCT_OK(fci_sha256_file("test", path, got, &size));
    FCT_EQ_INT(size, 300007);
    fct_check(!strcmp(got, want), __FILE__, __LINE__, "expected %s (sha256sum), found %s", want, got);
    remove(path);
    FCT_TRUE(fci_sha256_file("test", path, got, NULL) == FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "test: cannot open 'untar_sha_");
}

/* ---- helpers ---- */

static int64_t count_files(const char *dir, const char *sub, const char *ext) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) return -1;
    int64_t n = 0;
    size_t le = strlen(ext);
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        n += l > le && !strcmp(e->d_name + l - le, ext);
    }
    closedir(d);
    return n;
}

static int64_t count_entries(const char *dir) { /* everything but . and .. */
    DIR *d = opendir(dir);
    if (!d) return -1;
    int64_t n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static int exists(const char *dir, const char *sub) {
    char path[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    return stat(path, &st) == 0;
}

static int copy_file(const char *src, const char *dst, long flip_at) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    int ok = in && out;
    long i = 0;
    for (int c; ok && (c = fgetc(in)) != EOF; i++) fputc(i == flip_at ? c ^ 0x5a : c, out);
    if (in) fclose(in);
    if (out) fclose(out);
    return ok;
}

/* ---- the real archives ---- */

FCT_TEST(test_untar_mnist_sample_extracts_verified_folder) {
    char data[1100];
    int found = test_data_dir("mnist_sample.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    char dest[] = "untar_test_XXXXXX"; /* under the build dir (the tests' working directory) */
    if (!FCT_TRUE(mkdtemp(dest) != NULL)) return;
    const char *path = fc_untar_data("mnist_sample", .data_dir = data, .dest = dest, .no_download = 1);
    if (FCT_NOTNULL(path)) {
        char want[64];
        snprintf(want, sizeof want, "%s/mnist_sample", dest);
        fct_check(!strcmp(path, want), __FILE__, __LINE__, "expected '%s', found '%s'", want, path);
        /* counts from the data folder's README */
        FCT_EQ_INT(count_files(path, "train/3", ".png"), 6131);
        FCT_EQ_INT(count_files(path, "train/7", ".png"), 6265);
        FCT_EQ_INT(count_files(path, "valid/3", ".png"), 1010);
        FCT_EQ_INT(count_files(path, "valid/7", ".png"), 1028);
        FCT_TRUE(exists(path, ".fastc_untar_complete"));
        FCT_EQ_INT(count_entries(dest), 1); /* no temporary folder left beside it */
        char csv[2048];
        snprintf(csv, sizeof csv, "%s/labels.csv", path);
        fc_csv *c = fc_read_csv(csv);
        if (FCT_NOTNULL(c)) {
            FCT_EQ_INT(fc_csv_n_rows(c), 14434);
            FCT_TRUE(!strcmp(fc_csv_col_name(c, 0), "name") && !strcmp(fc_csv_col_name(c, 1), "label"));
            fc_csv_free(c);
        }
        /* The second call finds the complete folder: the same interned string, nothing extracted. */
        const char *again = fc_untar_data("mnist_sample", .data_dir = data, .dest = dest, .no_download = 1);
        FCT_TRUE(again == path);
    }
    FCT_OK(fci_remove_tree(dest));
}

/* A gzip-only dataset: tiny Shakespeare decompresses to tinyshakespeare/tinyshakespeare.txt with the
 * README's size, checksum and first line; a corrupted copy is refused before anything is written. */
FCT_TEST(test_untar_tinyshakespeare_gunzips_verified_text) {
    char data[1100];
    int found = test_data_dir("tinyshakespeare.txt.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    char dest[] = "untar_test_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dest) != NULL)) return;
    const char *path = fc_untar_data("tinyshakespeare", .data_dir = data, .dest = dest, .no_download = 1);
    if (FCT_NOTNULL(path)) {
        char want[64], txt[2048], sha[65], line[64] = "";
        snprintf(want, sizeof want, "%s/tinyshakespeare", dest);
        fct_check(!strcmp(path, want), __FILE__, __LINE__, "expected '%s', found '%s'", want, path);
        snprintf(txt, sizeof txt, "%s/tinyshakespeare.txt", path);
        int64_t size = 0;
        FCT_OK(fci_sha256_file("test", txt, sha, &size));
        FCT_EQ_INT(size, 1115394);
        FCT_STR(sha, "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed");
        FILE *f = fopen(txt, "r");
        if (FCT_TRUE(f != NULL)) {
            FCT_TRUE(fgets(line, sizeof line, f) != NULL);
            fclose(f);
        }
        FCT_STR(line, "First Citizen:\n");
        FCT_TRUE(exists(path, ".fastc_untar_complete"));
        FCT_EQ_INT(count_entries(path), 2);
        FCT_EQ_INT(count_entries(dest), 1);
        FCT_TRUE(fc_untar_data("tinyshakespeare", .data_dir = data, .dest = dest, .no_download = 1) == path);
    }
    char dir[] = "untar_test_XXXXXX", src[1200], dst[256];
    if (FCT_TRUE(mkdtemp(dir) != NULL)) {
        snprintf(src, sizeof src, "%s/tinyshakespeare.txt.gz", data);
        snprintf(dst, sizeof dst, "%s/tinyshakespeare.txt.gz", dir);
        FCT_TRUE(copy_file(src, dst, 1000));
        FCT_NULL(fc_untar_data("tinyshakespeare", .data_dir = dir, .no_download = 1));
        FCT_ERROR(FC_ERR_FORMAT, "does not match dataset 'tinyshakespeare': expected sha256 "
                                 "bed00f18e91cda6838950656f0a95e07e0f4dbe8649a4b959f7602a7e53fbc6e (433627 bytes)");
        FCT_EQ_INT(count_entries(dir), 1);
        FCT_OK(fci_remove_tree(dir));
    }
    FCT_OK(fci_remove_tree(dest));
}

FCT_TEST(test_untar_marker_force_and_stale_folder) {
    char data[1100];
    int found = test_data_dir("mnist_tiny.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    char dest[] = "untar_test_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dest) != NULL)) return;
    char junk[300], folder[256];
    snprintf(folder, sizeof folder, "%s/mnist_tiny", dest);
    snprintf(junk, sizeof junk, "%s/junk.txt", folder);
    /* A folder without the marker (a partial extraction, or someone else's) is replaced. */
    mkdir(folder, 0777);
    fclose(fopen(junk, "w"));
    const char *path = fc_untar_data("mnist_tiny", .data_dir = data, .dest = dest, .no_download = 1);
    if (FCT_NOTNULL(path)) {
        FCT_TRUE(!exists(path, "junk.txt"));
        FCT_EQ_INT(count_files(path, "train/3", ".png"), 346);
        FCT_EQ_INT(count_files(path, "valid/7", ".png"), 353);
        FCT_EQ_INT(count_files(path, "test", ".png"), 20);
        /* A complete folder is kept as it is ... */
        fclose(fopen(junk, "w"));
        FCT_TRUE(fc_untar_data("mnist_tiny", .data_dir = data, .dest = dest, .no_download = 1) == path);
        FCT_TRUE(exists(path, "junk.txt"));
        /* ... unless forced. */
        FCT_TRUE(fc_untar_data("mnist_tiny", .data_dir = data, .dest = dest, .no_download = 1, .force = 1) == path);
        FCT_TRUE(!exists(path, "junk.txt"));
        FCT_TRUE(exists(path, ".fastc_untar_complete"));
        FCT_EQ_INT(count_entries(dest), 1);
    }
    FCT_OK(fci_remove_tree(dest));
}

FCT_TEST(test_untar_refuses_corrupted_archive_with_both_checksums) {
    char data[1100];
    int found = test_data_dir("mnist_tiny.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    char dir[] = "untar_test_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dir) != NULL)) return;
    char src[1200], dst[256], bad_sha[65];
    snprintf(src, sizeof src, "%s/mnist_tiny.tar.gz", data);
    snprintf(dst, sizeof dst, "%s/mnist_tiny.tar.gz", dir);
    FCT_TRUE(copy_file(src, dst, 150000));
    FCT_OK(fci_sha256_file("test", dst, bad_sha, NULL));
    FCT_NULL(fc_untar_data("mnist_tiny", .data_dir = dir, .no_download = 1));
    char want[512];
    snprintf(want, sizeof want,
             "does not match dataset 'mnist_tiny': expected sha256 "
             "b9710dd17f8f33e1977e80fdeaeb44c49fa556540833717432fa9dcb4c7c8b13 (309210 bytes), "
             "found sha256 %s (309210 bytes)", bad_sha);
    FCT_ERROR(FC_ERR_FORMAT, want);
    FCT_EQ_INT(count_entries(dir), 1); /* nothing extracted */
    FCT_OK(fci_remove_tree(dir));
}

FCT_TEST(test_untar_missing_archive_says_where_to_put_it) {
    char dir[] = "untar_test_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dir) != NULL)) return;
    FCT_NULL(fc_untar_data("mnist_tiny", .data_dir = dir, .no_download = 1));
    char want[256];
    snprintf(want, sizeof want, "'mnist_tiny.tar.gz' and 'mnist_tiny.tgz' not found in '%s'; put "
             "mnist_tiny.tar.gz (sha256 b9710dd1", dir);
    FCT_ERROR(FC_ERR_IO, want);
    if (!getenv("FASTC_DATA_URL")) { /* no mirror set: the message names fastai's own URL */
        FCT_NULL(fc_untar_data("mnist_tiny", .data_dir = dir, .no_download = 1));
        FCT_ERROR(FC_ERR_IO, "fastai distributes this dataset at "
                             "https://s3.amazonaws.com/fast-ai-sample/mnist_tiny.tgz, packaged differently");
    }
    FCT_NULL(fc_untar_data("mnist_tiny", .data_dir = dir, .base_url = "file:///nonexistent/mirror"));
    FCT_ERROR(FC_ERR_IO, "untar_data: dataset 'mnist_tiny': cannot download "
                         "file:///nonexistent/mirror/mnist_tiny.tar.gz");
    FCT_EQ_INT(count_entries(dir), 0); /* no partial download left */
    FCT_NULL(fc_untar_data("mnist_huge", .data_dir = dir));
    FCT_ERROR(FC_ERR_ARG, "unknown dataset 'mnist_huge'; known: adult_sample, camvid_tiny");
    FCT_OK(fci_remove_tree(dir));
}

FCT_TEST(test_untar_downloads_verifies_and_extracts) {
    char data[1100];
    int found = test_data_dir("mnist_tiny.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    char dir[] = "untar_test_XXXXXX", mirror[] = "untar_test_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dir) != NULL && mkdtemp(mirror) != NULL)) return;
    char url[2300], abs[2200], cwd[1024];
    if (data[0] == '/') snprintf(abs, sizeof abs, "%s", data);
    else snprintf(abs, sizeof abs, "%s/%s", getcwd(cwd, sizeof cwd), data);
    snprintf(url, sizeof url, "file://%s", abs);
    const char *path = fc_untar_data("movie_lens_sample", .data_dir = dir, .base_url = url);
    if (FCT_NOTNULL(path)) {
        FCT_TRUE(exists(dir, "movie_lens_sample.tar.gz")); /* kept beside, as fastai does */
        FCT_TRUE(exists(path, "ratings.csv"));
        FCT_EQ_INT(count_entries(dir), 2);
    }
    /* A mirror serving other bytes: refused, and the bad download is not kept. */
    char src[1200], bad[256];
    snprintf(src, sizeof src, "%s/mnist_tiny.tar.gz", data);
    snprintf(bad, sizeof bad, "%s/mnist_tiny.tar.gz", mirror);
    FCT_TRUE(copy_file(src, bad, 1000));
    snprintf(url, sizeof url, "file://%s/%s", getcwd(cwd, sizeof cwd), mirror);
    FCT_NULL(fc_untar_data("mnist_tiny", .data_dir = dir, .base_url = url));
    FCT_ERROR(FC_ERR_FORMAT, "mnist_tiny.tar.gz' downloaded from file://");
    FCT_TRUE(!exists(dir, "mnist_tiny.tar.gz"));
    FCT_OK(fci_remove_tree(dir));
    FCT_OK(fci_remove_tree(mirror));
}

/* ---- unsafe archives, made here with libarchive ---- */

static int write_tar(const char *path, const char *const *names, int n) {
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    int ok = archive_write_open_filename(a, path) == ARCHIVE_OK;
    for (int i = 0; ok && i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        const char *body = "hello\n";
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_size(e, 6);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        ok = archive_write_header(a, e) == ARCHIVE_OK && archive_write_data(a, body, 6) == 6;
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return ok;
}

static void expect_refused(const char *entry, const char *why) {
    char dir[] = "untar_test_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dir) != NULL)) return;
    char tgz[256], out[256], want[512];
    snprintf(tgz, sizeof tgz, "%s/evil.tar.gz", dir);
    snprintf(out, sizeof out, "%s/out/in", dir); /* '..' twice from out/in/evil/ lands in dir */
    const char *names[2] = {"evil/ok.txt", entry};
    FCT_TRUE(write_tar(tgz, names, 2));
    char parent[256];
    snprintf(parent, sizeof parent, "%s/out", dir);
    FCT_TRUE(mkdir(parent, 0777) == 0 && mkdir(out, 0777) == 0);
    FCT_TRUE(fci_extract_archive(tgz, out, "evil") == FC_ERR_FORMAT);
    snprintf(want, sizeof want, "refused entry '%s': %s", entry, why);
    FCT_ERROR(FC_ERR_FORMAT, want);
    FCT_TRUE(!exists(dir, "escape.txt") && !exists(parent, "escape.txt"));
    FCT_OK(fci_remove_tree(dir));
}

FCT_TEST(test_untar_refuses_unsafe_entries) {
    expect_refused("evil/../../escape.txt", "a '..' component");
    expect_refused("../escape.txt", "a '..' component");
    expect_refused("/tmp/fastc_untar_escape.txt", "an absolute path");
    expect_refused("other/escape.txt", "a path outside the archive's folder");
    struct stat st;
    FCT_TRUE(stat("/tmp/fastc_untar_escape.txt", &st) != 0);
}

/* Issue 4's proof on real data: MNIST_SAMPLE (3s vs 7s) through a DataBlock of image files,
 * parent_label and GrandparentSplitter gives batches of the right shapes, kinds and labels. */
FCT_TEST(test_mnist_sample_datablock_gives_image_batches) {
    char data[1100];
    int found = test_data_dir("mnist_sample.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    char dest[] = "mnist_block_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dest) != NULL)) return;
    const char *path = fc_untar_data("mnist_sample", .data_dir = data, .dest = dest, .no_download = 1);
    fc_datablock *db = fc_datablock_new(.blocks = FC_BLOCKS(fc_image_block(), fc_category_block()),
                                        .get_items = NULL, .extensions = FC_NAMES(".png"),
                                        .get_y = fc_parent_label(),
                                        .splitter = fc_grandparent_splitter("train", "valid"));
    fc_dataloaders *dls = path && db ? fc_datablock_dataloaders(db, path, .bs = 64, .n_workers = 2) : NULL;
    if (FCT_NOTNULL(dls)) {
        FCT_EQ_INT(fc_dataloader_n(dls->train), 6131 + 6265);
        FCT_EQ_INT(fc_dataloader_n(dls->valid), 1010 + 1028);
        FCT_EQ_INT(dls->n_vocab, 2);
        if (dls->n_vocab == 2) FCT_TRUE(!strcmp(dls->vocab[0], "3") && !strcmp(dls->vocab[1], "7"));
        fc_tuple b;
        if (FCT_OK(fc_dataloader_one_batch(dls->train, &b))) {
            FCT_TRUE(b.v[0].kind == fc_kind_image);
            FCT_EQ_INT(fc_tensor_dtype(b.v[0].t), FC_DTYPE_F32); /* IntToFloat ran on the batch */
            FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 0), 64);
            FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 2), 28);
            FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 3), 28);
            FCT_TRUE(b.v[1].kind == fc_kind_category);
            FCT_EQ_INT(fc_tensor_dtype(b.v[1].t), FC_DTYPE_I64);
            int64_t n7 = 0;
            for (int i = 0; i < 64; i++) n7 += fc_tensor_get(b.v[1].t, i) == 1;
            FCT_TRUE(n7 > 10 && n7 < 54); /* shuffled: both classes in a batch */
            double mx = 0;
            for (int64_t i = 0; i < fc_tensor_numel(b.v[0].t); i++)
                if (fc_tensor_get(b.v[0].t, i) > mx) mx = fc_tensor_get(b.v[0].t, i);
            FCT_TRUE(mx > 0.5 && mx <= 1.0);
            fc_tuple_free(&b);
        }
        FCT_OK(fc_show_batch(dls->train, "mnist_sample_batch.png", .vocab = dls->vocab, .n_vocab = dls->n_vocab));
        fc_dataloaders_free(dls);
    }
    fc_datablock_free(db);
    FCT_OK(fci_remove_tree(dest));
}
