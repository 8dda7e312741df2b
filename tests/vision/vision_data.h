/* Real datasets for the vision tests: extracted once into the build folder (never the repo). */
#ifndef FASTC_TEST_VISION_DATA_H
#define FASTC_TEST_VISION_DATA_H

#include <sys/stat.h>

#include "data/data_dir.h" /* via the tests folder, so its __FILE__ locates the checkout */
#include "fastc/data.h"
#include "fct.h"

/* The extracted folder of dataset 'name' (e.g. "mnist_tiny"), or NULL: the test skips when the
 * shared data is absent (and fails under CI / $FASTC_DATA, as test_data_dir says). */
static inline const char *vision_dataset(const char *name) {
    char data[1100], archive[300];
    snprintf(archive, sizeof archive, "%s.tar.gz", name);
    int found = test_data_dir(archive, data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return NULL;
    mkdir("vision_data", 0777);
    const char *path = fc_untar_data(name, .data_dir = data, .dest = "vision_data", .no_download = 1);
    FCT_NOTNULL(path);
    return path;
}

#endif
