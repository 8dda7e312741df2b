/* DataLoader throughput on real images: MNIST_SAMPLE (12,396 training PNGs) through the DataBlock
 * (read PNG, parent_label, Categorize, collate, IntToFloat on the batch), one epoch of batches of
 * 64 with 0 (the calling thread), 1 and 2 worker threads; prints items/s. Not in run.sh: it has
 * no PyTorch twin (bench_image_loading compares decoding with PIL). Usage: loader_throughput
 * [data_dir] (default $FASTC_DATA, else ../shared/data); extracts into a temporary folder. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastc/fastc.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *data = argc > 1 ? argv[1] : getenv("FASTC_DATA");
    if (!data) data = "../shared/data";
    char dest[] = "/tmp/fastc_loader_XXXXXX";
    if (!mkdtemp(dest)) return 1;
    const char *path = fc_untar_data("mnist_sample", .data_dir = data, .dest = dest, .no_download = 1);
    if (!path) return fc_report(fc_error_code());
    fc_set_num_threads(1); /* the workers are the parallelism measured here */
    printf("DataLoader throughput, MNIST_SAMPLE train (PNG decode + Categorize + collate + IntToFloat), bs 64\n");
    printf("%8s  %10s  %10s\n", "workers", "items/s", "epoch s");
    fc_status st = FC_OK;
    for (int w = 0; w <= 2 && st == FC_OK; w++) {
        fc_datablock *db = fc_datablock_new(.blocks = FC_BLOCKS(fc_image_block(), fc_category_block()),
                                            .extensions = FC_NAMES(".png"), .get_y = fc_parent_label(),
                                            .splitter = fc_grandparent_splitter("train", "valid"));
        fc_dataloaders *dls = fc_datablock_dataloaders(db, path, .bs = 64, .n_workers = w);
        fc_datablock_free(db);
        if (!dls) return fc_report(fc_error_code());
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            fc_tuple b;
            int r;
            st = fc_dataloader_start(dls->train, rep);
            while (st == FC_OK && (r = fc_dataloader_next(dls->train, &b)) == 1) fc_tuple_free(&b);
            if (st == FC_OK && r < 0) st = r;
            double t = now() - t0;
            if (t < best) best = t;
        }
        printf("%8d  %10.0f  %10.3f\n", w, (double)fc_dataloader_n(dls->train) / best, best);
        fc_dataloaders_free(dls);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dest);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dest);
    return fc_report(st);
}
