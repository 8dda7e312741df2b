/* libFuzzer target for fc_load_learner: any bytes as an exported learner file must load or fail
 * with an error, never crash, hang or leak. Built with clang -fsanitize=fuzzer,address when
 * FASTC_FUZZ is on (see CMakeLists.txt); replay.c runs the same target over a corpus without
 * libFuzzer (the fuzz_replay test). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fastc/vision.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fuzz_load_learner.%ld.fcm", (long)getpid());
        fc_vision_register(); /* a static link keeps vision's registration only when asked */
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    fc_learner *learn = fc_load_learner(path);
    if (learn) {
        /* a file that loads must also predict without crashing (a missing image fails cleanly) */
        fc_prediction p;
        if (fc_learner_predict(learn, "/nonexistent.png", &p) == FC_OK) fc_prediction_free(&p);
    }
    fc_learner_free(learn);
    fc_error_clear();
    return 0;
}
