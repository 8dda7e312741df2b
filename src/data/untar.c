/* fastai's untar_data: a named dataset archive is found in the data folder (or downloaded into it),
 * verified against the SHA-256 in the table below, and extracted once, atomically: into a temporary
 * folder beside the destination, a completion marker written last, then renamed into place, so a
 * half-extracted folder is never visible, even to a process running the same call concurrently. */
#define _XOPEN_SOURCE 700
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "untar_impl.h"

/* The archives of the shared data folder (its README describes each and its source). The checksums
 * and sizes are of fastc's packaging (tar + gzip -9, one top folder, sorted entries, reproducible);
 * url is where fastai distributes the dataset, packaged differently: its bytes do not match and a
 * download from it is refused, so download from a mirror of these files ($FASTC_DATA_URL). */
typedef struct dataset_entry {
    const char *name, *file, *folder, *url, *sha256;
    int64_t size;
    const char *gz_out; /* a single gzipped file (no tar): decompressed to <folder>/<gz_out> */
} dataset_entry;

#define S3 "https://s3.amazonaws.com/fast-ai-"
static const dataset_entry datasets[] = {
    {"adult_sample", "adult_sample.tar.gz", "adult_sample", S3 "sample/adult_sample.tgz",
     "f823076b77ce315cde1f514a80d833d80976e3ed07e3b2030d17328abe9d419c", 406727},
    {"camvid_tiny", "camvid_tiny.tar.gz", "camvid_tiny", S3 "sample/camvid_tiny.tgz",
     "4ec3d20ad4724fdd8a58dfc1696839989126a06a7bd929ca9e41f26e963bc495", 2309763},
    {"cifar10_jpg", "cifar10_jpg.tar.gz", "cifar10", S3 "sample/cifar10.tgz",
     "43d2d07e2cffba878b118300838fd2617ada99113986ba9cf525412f2e38d90e", 19430061},
    {"cifar10_png_test4", "cifar10_png_test4.tar.gz", "cifar10_png_test4", S3 "sample/cifar10.tgz",
     "bf3a0962056514357adba20a047e3de6c1416f3acba451083a5a1ca47a1818b6", 10764003},
    {"coco_tiny", "coco_tiny.tar.gz", "coco_tiny", S3 "coco/coco_tiny.tgz",
     "99e651815bc11793312c820669f738f996427ef88877756fb3446266597a0c2f", 799680},
    {"imdb_sample", "imdb_sample.tar.gz", "imdb_sample", S3 "sample/imdb_sample.tgz",
     "7c51e6bc6f2a35195bb8f930f4c926cbb3d533945467d5127a5c2cb4975f4901", 569792},
    {"ml-100k", "ml-100k.tar.gz", "ml-100k", "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
     "13e77cbbd1a4831b9ea196b5947f58dd217e42dbf0a25bb5edd12ec83fb06ff1", 4927393},
    {"mnist_png", "mnist_png.tar.gz", "mnist_png", S3 "imageclas/mnist_png.tgz",
     "5da79af83fd97717ad35fe19872f95114ec8b7e7a9a48d530b14bf1dd070339b", 16802111},
    {"mnist_sample", "mnist_sample.tar.gz", "mnist_sample", S3 "sample/mnist_sample.tgz",
     "0f6e31cd9ae4042ec2dc03f026554abac2af6f3dac778ff98f15137c3a78cfd4", 3447396},
    {"mnist_tiny", "mnist_tiny.tar.gz", "mnist_tiny", S3 "sample/mnist_tiny.tgz",
     "b9710dd17f8f33e1977e80fdeaeb44c49fa556540833717432fa9dcb4c7c8b13", 309210},
    {"movie_lens_sample", "movie_lens_sample.tar.gz", "movie_lens_sample", S3 "sample/movie_lens_sample.tgz",
     "c889bf672bfe403ab6d76e9bf3f03f14672fbda0e72a216063157f8b8edff382", 51142},
    {"tinyshakespeare", "tinyshakespeare.txt.gz", "tinyshakespeare",
     "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
     "bed00f18e91cda6838950656f0a95e07e0f4dbe8649a4b959f7602a7e53fbc6e", 433627, "tinyshakespeare.txt"},
    {"wikitext2_partial", "wikitext2_partial.tar.gz", "wikitext-2", S3 "nlp/wikitext-2.tgz",
     "6cb6aca20619d892748f3490845e765deecebe7736de9e08c4b091d4d0df803d", 783390},
};
#define N_DATASETS ((int)(sizeof datasets / sizeof datasets[0]))

/* Written last inside the extracted folder: the archive's sha256. A folder without it (or with
 * another archive's checksum) is incomplete or stale and is extracted again. */
#define MARKER ".fastc_untar_complete"

/* ---- paths ---- */

/* A malloc'd printf; NULL with FC_ERR_NOMEM set. */
static char *str_printf(const char *fmt, ...) FC_PRINTF(1, 2);
static char *str_printf(const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap2);
    else fc_fail(FC_ERR_NOMEM, "untar_data: out of memory (%d bytes for a path)", n + 1);
    va_end(ap2);
    return s;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* mkdir -p */
static fc_status make_dirs(const char *path) {
    char *p = str_printf("%s", path);
    if (!p) return FC_ERR_NOMEM;
    fc_status st = FC_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            st = fc_fail(FC_ERR_IO, "untar_data: cannot create folder '%s': %s", p, strerror(errno));
        *s = c;
        if (st != FC_OK || c == '\0') break;
    }
    if (st == FC_OK && !is_dir(p))
        st = fc_fail(FC_ERR_IO, "untar_data: '%s' exists and is not a folder", p);
    free(p);
    return st;
}

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

fc_status fci_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return FC_OK;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return fc_fail(FC_ERR_IO, "untar_data: cannot remove '%s': %s", path, strerror(errno));
    return FC_OK;
}

/* Returned paths are interned: one copy per distinct path, owned by the library for the life of
 * the process, so `fc_untar_data(...)` can be passed straight to the next call. */
static const char *intern(char *path) {
    typedef struct node {
        struct node *next;
        char s[];
    } node;
    static node *head;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    node *n = head;
    while (n && strcmp(n->s, path) != 0) n = n->next;
    if (!n) {
        size_t len = strlen(path) + 1;
        n = malloc(sizeof *n + len);
        if (n) {
            memcpy(n->s, path, len);
            n->next = head;
            head = n;
        }
    }
    pthread_mutex_unlock(&mu);
    if (!n) fc_fail(FC_ERR_NOMEM, "untar_data: out of memory (%zu bytes)", strlen(path) + 1);
    return n ? n->s : NULL;
}

/* ---- extraction ---- */

/* Checks an archive entry's path; returns the reason it is refused, or NULL. */
static const char *bad_entry_path(const char *p, const char *top) {
    if (!*p) return "an empty path";
    if (p[0] == '/') return "an absolute path";
    for (const char *c = p; *c;) {
        size_t len = strcspn(c, "/");
        if (len == 2 && c[0] == '.' && c[1] == '.') return "a '..' component";
        c += len;
        while (*c == '/') c++;
    }
    if (top) {
        size_t lt = strlen(top);
        while (p[0] == '.' && p[1] == '/') p += 2;
        if (strncmp(p, top, lt) != 0 || (p[lt] != '\0' && p[lt] != '/'))
            return "a path outside the archive's folder";
    }
    return NULL;
}

fc_status fci_extract_archive(const char *archive, const char *dir, const char *top) {
    struct archive *a = archive_read_new(), *w = archive_write_disk_new();
    fc_status st = FC_OK;
    char *out = NULL;
    size_t out_cap = 0, ld = strlen(dir);
    if (!a || !w) {
        st = fc_fail(FC_ERR_NOMEM, "untar_data: out of memory (libarchive)");
        goto done;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    /* Entries are checked by path and type below; no owners, no permissions beyond the umask. */
    archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME);
    if (archive_read_open_filename(a, archive, 1 << 16) != ARCHIVE_OK) {
        st = fc_fail(FC_ERR_FORMAT, "untar_data: cannot read archive '%s': %s", archive,
                     archive_error_string(a));
        goto done;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            st = fc_fail(FC_ERR_FORMAT, "untar_data: archive '%s' is corrupt: %s", archive,
                         archive_error_string(a));
            goto done;
        }
        const char *p = archive_entry_pathname(e);
        const char *why = bad_entry_path(p ? p : "", top);
        mode_t type = archive_entry_filetype(e);
        if (!why && type != AE_IFREG && type != AE_IFDIR) why = "a type other than file or folder";
        if (!why && archive_entry_hardlink(e)) why = "a hard link";
        if (why) {
            st = fc_fail(FC_ERR_FORMAT, "untar_data: archive '%s': refused entry '%s': %s", archive,
                         p ? p : "", why);
            goto done;
        }
        size_t need = ld + strlen(p) + 2;
        if (need > out_cap) {
            char *grown = realloc(out, need * 2);
            if (!grown) {
                st = fc_fail(FC_ERR_NOMEM, "untar_data: out of memory (%zu bytes)", need * 2);
                goto done;
            }
            out = grown, out_cap = need * 2;
        }
        snprintf(out, out_cap, "%s/%s", dir, p);
        archive_entry_set_pathname(e, out);
        if (archive_read_extract2(a, e, w) != ARCHIVE_OK) {
            st = fc_fail(FC_ERR_FORMAT, "untar_data: cannot extract '%s' from '%s': %s", p, archive,
                         archive_error_string(w) ? archive_error_string(w) : archive_error_string(a));
            goto done;
        }
    }
done:
    free(out);
    if (w) archive_write_free(w);
    if (a) archive_read_free(a);
    return st;
}

/* Decompresses the gzip file 'archive' into dir/name (dir exists), through libarchive's raw format. */
static fc_status gunzip_to(const char *archive, const char *dir, const char *name) {
    struct archive *a = archive_read_new();
    char *out = str_printf("%s/%s", dir, name);
    FILE *f = NULL;
    fc_status st = FC_OK;
    if (!a || !out) {
        st = a ? FC_ERR_NOMEM : fc_fail(FC_ERR_NOMEM, "untar_data: out of memory (libarchive)");
        goto done;
    }
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    if (archive_read_open_filename(a, archive, 1 << 16) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK ||
        archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
        st = fc_fail(FC_ERR_FORMAT, "untar_data: '%s' is not a gzip file: %s", archive,
                     archive_error_string(a) ? archive_error_string(a) : "another format");
        goto done;
    }
    if (!(f = fopen(out, "wb"))) {
        st = fc_fail(FC_ERR_IO, "untar_data: cannot create '%s': %s", out, strerror(errno));
        goto done;
    }
    char buf[1 << 16];
    for (;;) {
        la_ssize_t r = archive_read_data(a, buf, sizeof buf);
        if (r == 0) break;
        if (r < 0) {
            st = fc_fail(FC_ERR_FORMAT, "untar_data: '%s' is corrupt: %s", archive, archive_error_string(a));
            goto done;
        }
        if (fwrite(buf, 1, (size_t)r, f) != (size_t)r) {
            st = fc_fail(FC_ERR_IO, "untar_data: cannot write '%s': %s", out, strerror(errno));
            goto done;
        }
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        st = fc_fail(FC_ERR_IO, "untar_data: cannot write '%s': %s", out, strerror(errno));
done:
    if (f && fclose(f) != 0 && st == FC_OK)
        st = fc_fail(FC_ERR_IO, "untar_data: cannot write '%s': %s", out, strerror(errno));
    if (a) archive_read_free(a);
    free(out);
    return st;
}

/* ---- download ---- */

typedef struct progress {
    const char *file;
    double last;
} progress;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int show_progress(void *ctx, curl_off_t total, curl_off_t done, curl_off_t ut, curl_off_t un) {
    (void)ut, (void)un;
    progress *pg = ctx;
    double t = now_s();
    if (t - pg->last < 0.2 && (total <= 0 || done < total)) return 0;
    pg->last = t;
    if (total > 0) {
        int width = 30, fill = (int)(width * (double)done / (double)total);
        fprintf(stderr, "\r%s [%.*s%*s] %5.1f%% %.1f/%.1f MB", pg->file, fill,
                "##############################", width - fill, "", 100.0 * (double)done / (double)total,
                (double)done / 1e6, (double)total / 1e6);
    } else {
        fprintf(stderr, "\r%s %.1f MB", pg->file, (double)done / 1e6);
    }
    return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;
static void curl_init(void) { curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Downloads url to a temporary file beside 'dst' and renames it to dst once complete. The caller
 * verifies the checksum. */
static fc_status download(const char *url, const char *dst, const char *file) {
    pthread_once(&curl_once, curl_init);
    if (curl_init_code != CURLE_OK)
        return fc_fail(FC_ERR_IO, "untar_data: cannot initialize libcurl: %s", curl_easy_strerror(curl_init_code));
    char *tmp = str_printf("%s.part-XXXXXX", dst);
    if (!tmp) return FC_ERR_NOMEM;
    fc_status st = FC_OK;
    FILE *f = NULL;
    CURL *c = NULL;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = fc_fail(FC_ERR_IO, "untar_data: cannot create '%s' to download %s: %s", tmp, url, strerror(errno));
        free(tmp);
        return st;
    }
    f = fdopen(fd, "wb");
    c = curl_easy_init();
    if (!f || !c) {
        st = fc_fail(FC_ERR_NOMEM, "untar_data: out of memory (download)");
        if (!f) close(fd);
        goto done;
    }
    char err[CURL_ERROR_SIZE] = "";
    progress pg = {file, 0};
    int tty = isatty(STDERR_FILENO);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f); /* default write function: fwrite */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string forms */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, tty ? 0L : 1L);
    if (tty) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, show_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &pg);
    }
    CURLcode r = curl_easy_perform(c);
    if (tty) fputc('\n', stderr);
    if (r != CURLE_OK) {
        st = fc_fail(FC_ERR_IO, "untar_data: cannot download %s: %s", url, err[0] ? err : curl_easy_strerror(r));
        goto done;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        st = fc_fail(FC_ERR_IO, "untar_data: cannot write '%s': %s", tmp, strerror(errno));
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        st = fc_fail(FC_ERR_IO, "untar_data: cannot write '%s': %s", tmp, strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, dst) != 0)
        st = fc_fail(FC_ERR_IO, "untar_data: cannot rename '%s' to '%s': %s", tmp, dst, strerror(errno));
done:
    if (c) curl_easy_cleanup(c);
    if (f) fclose(f);
    if (st != FC_OK) remove(tmp);
    free(tmp);
    return st;
}

/* ---- untar_data ---- */

static const dataset_entry *find_dataset(const char *name) {
    for (int i = 0; i < N_DATASETS; i++)
        if (!strcmp(datasets[i].name, name)) return &datasets[i];
    char known[1024] = "";
    for (int i = 0; i < N_DATASETS; i++) {
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", datasets[i].name);
    }
    fc_fail(FC_ERR_ARG, "untar_data: unknown dataset '%s'; known: %s", name, known);
    return NULL;
}

/* 1 when folder holds the marker of a complete extraction of an archive with this checksum. */
static int is_complete(const char *folder, const char *sha) {
    char *m = str_printf("%s/" MARKER, folder);
    if (!m) return 0;
    FILE *f = fopen(m, "r");
    free(m);
    if (!f) return 0;
    char got[80] = "";
    int ok = fgets(got, sizeof got, f) && !strncmp(got, sha, 64);
    fclose(f);
    return ok;
}

static fc_status write_marker(const char *folder, const char *sha) {
    char *m = str_printf("%s/" MARKER, folder);
    if (!m) return FC_ERR_NOMEM;
    FILE *f = fopen(m, "w");
    fc_status st = FC_OK;
    if (!f || fprintf(f, "%s\n", sha) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
        st = fc_fail(FC_ERR_IO, "untar_data: cannot write '%s': %s", m, strerror(errno));
    if (f) fclose(f);
    free(m);
    return st;
}

/* Verifies size and SHA-256 of the archive against the table. */
static fc_status verify(const dataset_entry *d, const char *archive, const char *from) {
    char sha[65];
    int64_t size = 0;
    fc_status st = fci_sha256_file("untar_data", archive, sha, &size);
    if (st != FC_OK) return st;
    if (size == d->size && !strcmp(sha, d->sha256)) return FC_OK;
    return fc_fail(FC_ERR_FORMAT,
                   "untar_data: '%s'%s%s does not match dataset '%s': expected sha256 %s (%lld bytes), "
                   "found sha256 %s (%lld bytes); %s",
                   archive, from ? " downloaded from " : "", from ? from : "", d->name, d->sha256,
                   (long long)d->size, sha, (long long)size,
                   from ? "the download was removed: set $FASTC_DATA_URL (or .base_url) to a mirror of "
                          "fastc's archives, or put a good copy in the data folder"
                        : "the file is corrupt or another packaging: delete it and put a good copy there");
}

/* Extracts the verified archive into dest/<folder> atomically. */
static fc_status extract_into(const dataset_entry *d, const char *archive, const char *dest,
                              const char *folder, int force) {
    fc_status st = make_dirs(dest);
    if (st != FC_OK) return st;
    char *tmp = str_printf("%s/.%s.untar-XXXXXX", dest, d->folder);
    char *inner = NULL, *old = NULL;
    if (!tmp) return FC_ERR_NOMEM;
    if (!mkdtemp(tmp)) {
        st = fc_fail(FC_ERR_IO, "untar_data: cannot create a temporary folder in '%s': %s", dest, strerror(errno));
        free(tmp);
        return st;
    }
    inner = str_printf("%s/%s", tmp, d->folder);
    old = str_printf("%s/previous", tmp);
    if (!inner || !old) st = FC_ERR_NOMEM;
    if (st == FC_OK && d->gz_out) {
        if (mkdir(inner, 0777) != 0)
            st = fc_fail(FC_ERR_IO, "untar_data: cannot create folder '%s': %s", inner, strerror(errno));
        else
            st = gunzip_to(archive, inner, d->gz_out);
    } else if (st == FC_OK) {
        st = fci_extract_archive(archive, tmp, d->folder);
    }
    if (st == FC_OK && !is_dir(inner))
        st = fc_fail(FC_ERR_FORMAT, "untar_data: archive '%s' has no folder '%s'", archive, d->folder);
    if (st == FC_OK) st = write_marker(inner, d->sha256);
    /* Another process may have finished the same extraction meanwhile: keep its folder. */
    int done_elsewhere = st == FC_OK && !force && is_complete(folder, d->sha256);
    /* An incomplete, stale or forced folder in the way is moved aside first, then removed. */
    if (st == FC_OK && !done_elsewhere && is_dir(folder) && rename(folder, old) != 0)
        st = fc_fail(FC_ERR_IO, "untar_data: cannot move the old '%s' aside: %s", folder, strerror(errno));
    if (st == FC_OK && !done_elsewhere && rename(inner, folder) != 0) {
        int e = errno;
        /* Another process finished the same extraction first: its result is as good as ours. */
        if (!is_complete(folder, d->sha256))
            st = fc_fail(FC_ERR_IO, "untar_data: cannot rename '%s' to '%s': %s", inner, folder, strerror(e));
    }
    fc_status rm = fci_remove_tree(tmp);
    if (st == FC_OK) st = rm;
    free(old);
    free(inner);
    free(tmp);
    return st;
}

/* What to do when the archive is not there: where we looked, what to put there, where to get it. */
static void missing_archive(const dataset_entry *d, const char *data_dir, const char *base,
                            const char *url, const char *why) {
    char how[1024];
    if (base)
        snprintf(how, sizeof how, "or download it from %s (the mirror named by .base_url or $FASTC_DATA_URL)", url);
    else
        snprintf(how, sizeof how, "or set $FASTC_DATA_URL (or .base_url) to a mirror of fastc's archives "
                 "and allow downloads; fastai distributes this dataset at %s, packaged differently "
                 "(another checksum)", d->url);
    fc_fail(FC_ERR_IO,
            "untar_data: dataset '%s': %s%s'%s' and '%s.tgz' not found in '%s'; put %s (sha256 %s, "
            "%lld bytes) there, %s",
            d->name, why ? why : "", why ? "; " : "", d->file, d->name, data_dir, d->file, d->sha256,
            (long long)d->size, how);
}

const char *fc_untar_data_(const char *name, const fc_untar_opts *o) {
    if (!name) {
        fc_fail(FC_ERR_ARG, "untar_data: expected a dataset name, found NULL");
        return NULL;
    }
    static const fc_untar_opts none = {0};
    if (!o) o = &none;
    const dataset_entry *d = find_dataset(name);
    if (!d) return NULL;
    char *data_dir = NULL, *dest = NULL, *folder = NULL, *archive = NULL, *tgz = NULL, *url = NULL;
    const char *result = NULL;
    const char *env_data = getenv("FASTC_DATA"), *env_dest = getenv("FASTC_EXTRACT");
    const char *env_url = getenv("FASTC_DATA_URL"), *home = getenv("HOME");
    if (o->data_dir) data_dir = str_printf("%s", o->data_dir);
    else if (env_data && *env_data) data_dir = str_printf("%s", env_data);
    else data_dir = str_printf("%s/.fastc/data", home && *home ? home : ".");
    if (!data_dir) goto done;
    if (o->dest) dest = str_printf("%s", o->dest);
    else if (env_dest && *env_dest) dest = str_printf("%s", env_dest);
    else dest = str_printf("%s", data_dir);
    const char *base = o->base_url ? o->base_url : env_url && *env_url ? env_url : NULL;
    url = base ? str_printf("%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", d->file)
               : str_printf("%s", d->url);
    if (!dest || !url) goto done;
    folder = str_printf("%s/%s", dest, d->folder);
    archive = str_printf("%s/%s", data_dir, d->file);
    tgz = str_printf("%s/%s.tgz", data_dir, d->name);
    if (!folder || !archive || !tgz) goto done;

    if (!o->force && is_complete(folder, d->sha256)) {
        result = intern(folder);
        goto done;
    }
    const char *src = is_file(archive) ? archive : is_file(tgz) ? tgz : NULL;
    if (!src) {
        if (o->no_download) {
            missing_archive(d, data_dir, base, url, "downloads are off (.no_download)");
            goto done;
        }
        if (make_dirs(data_dir) != FC_OK || download(url, archive, d->file) != FC_OK) {
            /* Offline: the download's reason, then where we looked and what to put there. */
            char why[1024];
            const char *m = fc_error_message();
            snprintf(why, sizeof why, "%s", strncmp(m, "untar_data: ", 12) ? m : m + 12);
            fc_error_clear();
            missing_archive(d, data_dir, base, url, why);
            goto done;
        }
        if (verify(d, archive, url) != FC_OK) {
            remove(archive); /* a bad download is not kept where it would be found next time */
            goto done;
        }
        src = archive;
    } else if (verify(d, src, NULL) != FC_OK) {
        goto done;
    }
    if (extract_into(d, src, dest, folder, o->force) == FC_OK) result = intern(folder);
done:
    free(tgz);
    free(archive);
    free(folder);
    free(url);
    free(dest);
    free(data_dir);
    return result;
}
