/* Image decoding throughput: fc_image_read + conversion to f32 [C, H, W] / 255 (what a ToTensor
 * step does) for every MNIST PNG of mnist_sample/train/3 and every CIFAR-10 test JPEG, on 1 and 2
 * threads (pthreads, the file list split in halves). Twin: torch_image_loading.py (PIL + numpy +
 * torch.from_numpy, threads). The datasets are extracted once with fc_untar_data into
 * $FASTC_EXTRACT, else bench_data/ beside this program. Prints BENCH lines for bench/run.sh:
 * ms = median time for the whole list; the ratio run.sh prints is images/s fastc / PIL. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fastc/data.h"

typedef struct file_list {
    char **path;
    int n, cap;
} file_list;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends the files of dir ending in ext, sorted by name (the Python twin lists them the same way). */
static void list_files(file_list *l, const char *dir, const char *ext) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_image_loading: cannot open folder '%s'\n", dir);
        exit(1);
    }
    int first = l->n;
    size_t le = strlen(ext);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len <= le || strcmp(e->d_name + len - le, ext)) continue;
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 1024;
            l->path = realloc(l->path, sizeof(char *) * (size_t)l->cap);
        }
        l->path[l->n] = malloc(strlen(dir) + len + 2);
        sprintf(l->path[l->n++], "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(l->path + first, (size_t)(l->n - first), sizeof(char *), cmp_str);
}

typedef struct job {
    char **path;
    int n;
    double checksum; /* sum of all pixels: keeps the conversion from being optimized away */
    int failed;
} job;

static void *load_range(void *arg) {
    job *j = arg;
    j->checksum = 0;
    for (int i = 0; i < j->n; i++) {
        fc_tensor *u8 = fc_image_read(j->path[i]);
        if (!u8) {
            fprintf(stderr, "%s\n", fc_error_message());
            j->failed = 1;
            return NULL;
        }
        fc_tensor *f = fc_empty(fc_tensor_shape(u8));
        if (!f) {
            j->failed = 1;
            fc_tensor_free(u8);
            return NULL;
        }
        const unsigned char *src = fc_tensor_data(u8);
        float *dst = fc_tensor_data_f32(f);
        int64_t n = fc_tensor_numel(u8);
        for (int64_t k = 0; k < n; k++) dst[k] = (float)src[k] * (1.0f / 255.0f);
        j->checksum += dst[n / 2];
        fc_tensor_free(f);
        fc_tensor_free(u8);
    }
    return NULL;
}

static double run(const file_list *l, int n_threads) {
    pthread_t th[2];
    job jobs[2];
    int per = (l->n + n_threads - 1) / n_threads;
    double t0 = now_ms();
    for (int k = 0; k < n_threads; k++) {
        int lo = k * per, hi = lo + per < l->n ? lo + per : l->n;
        jobs[k] = (job){l->path + lo, hi - lo, 0, 0};
        if (k) pthread_create(&th[k], NULL, load_range, &jobs[k]);
    }
    load_range(&jobs[0]);
    for (int k = 1; k < n_threads; k++) pthread_join(th[k], NULL);
    double ms = now_ms() - t0;
    for (int k = 0; k < n_threads; k++)
        if (jobs[k].failed) exit(1);
    return ms;
}

static void bench(const char *name, const file_list *l) {
    run(l, 1); /* warm the page cache and the allocator */
    for (int n_threads = 1; n_threads <= 2; n_threads++) {
        double t[5];
        for (int r = 0; r < 5; r++) t[r] = run(l, n_threads);
        qsort(t, 5, sizeof(double), cmp);
        printf("BENCH name=%s_%dthread ms=%.3f gflops=0 images=%d images_per_s=%.0f\n", name, n_threads,
               t[2], l->n, 1e3 * l->n / t[2]);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    char dest[1024], self[1024];
    const char *env = getenv("FASTC_EXTRACT");
    snprintf(self, sizeof self, "%s", argv[0]);
    if (env && *env) snprintf(dest, sizeof dest, "%s", env);
    else snprintf(dest, sizeof dest, "%s/bench_data", dirname(self));
    /* The archives: $FASTC_DATA, else the shared data folder beside the checkout or the worktrees. */
    char data[1100] = "", root[900];
    const char *env_data = getenv("FASTC_DATA");
    snprintf(root, sizeof root, "%s", __FILE__);
    char *cut = strstr(root, "/bench/bench_image_loading.c");
    if (!(env_data && *env_data) && cut) {
        *cut = '\0';
        static const char *up[2] = {"..", "../.."};
        for (int k = 0; k < 2 && !data[0]; k++) {
            snprintf(data, sizeof data, "%s/%s/shared/data/mnist_sample.tar.gz", root, up[k]);
            FILE *f = fopen(data, "rb");
            if (f) {
                fclose(f);
                snprintf(data, sizeof data, "%s/%s/shared/data", root, up[k]);
            } else {
                data[0] = '\0';
            }
        }
    }
    const char *data_dir = data[0] ? data : NULL; /* NULL: fc_untar_data's default */
    const char *mnist = fc_untar_data("mnist_sample", .data_dir = data_dir, .dest = dest, .no_download = 1);
    const char *cifar = check(mnist != NULL)
        ? fc_untar_data("cifar10_jpg", .data_dir = data_dir, .dest = dest, .no_download = 1) : NULL;
    check(cifar != NULL);
    file_list png = {0}, jpg = {0};
    char dir[1300];
    snprintf(dir, sizeof dir, "%s/train/3", mnist);
    list_files(&png, dir, ".png");
    static const char *classes[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                      "dog", "frog", "horse", "ship", "truck"};
    for (int c = 0; c < 10; c++) {
        snprintf(dir, sizeof dir, "%s/test/%s", cifar, classes[c]);
        list_files(&jpg, dir, ".jpg");
    }
    bench("decode_png_mnist28x28", &png);
    bench("decode_jpeg_cifar32x32", &jpg);
    for (int i = 0; i < png.n; i++) free(png.path[i]);
    for (int i = 0; i < jpg.n; i++) free(jpg.path[i]);
    free(png.path);
    free(jpg.path);
    return 0;
}
