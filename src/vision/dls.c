/* ImageDataLoaders.from_folder: a DataBlock of (ImageBlock, CategoryBlock) labelled by the parent
 * folder, split by the train/valid folders (or at random), built in one call. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/core_impl.h"
#include "fastc/vision.h"

static void free_tfms(fc_tfms t) {
    for (int i = 0; i < t.n; i++) fc_transform_free(t.t[i]);
}

/* A clear message for a missing folder before get_files reports "no images". */
static fc_status need_dir(const char *path, const char *sub, const char *what) {
    char full[4096];
    snprintf(full, sizeof full, "%s%s%s", path, sub ? "/" : "", sub ? sub : "");
    struct stat st;
    if (stat(full, &st) != 0)
        return fc_fail(FC_ERR_IO, "image_dls_from_folder: expected %s folder '%s', found nothing there (%s)",
                       what, full, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fc_fail(FC_ERR_IO, "image_dls_from_folder: expected %s folder '%s', found a file", what, full);
    return FC_OK;
}

fc_dataloaders *fc_image_dls_from_folder_(const char *path, const fc_image_dls_opts *o) {
    fc_image_dls_opts z = {0};
    if (!o) o = &z;
    if (!path) {
        free_tfms(o->item_tfms);
        free_tfms(o->batch_tfms);
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "image_dls_from_folder: NULL path");
        return NULL;
    }
    const char *train = o->train ? o->train : "train", *valid = o->valid ? o->valid : "valid";
    fc_status st = need_dir(path, NULL, "the dataset");
    if (st == FC_OK && o->valid_pct <= 0) st = need_dir(path, train, "the training");
    if (st == FC_OK && o->valid_pct <= 0) st = need_dir(path, valid, "the validation");
    if (st != FC_OK) {
        free_tfms(o->item_tfms);
        free_tfms(o->batch_tfms);
        return NULL;
    }
    uint64_t seed = o->seed ? o->seed : 42;
    fc_data_splitter *splitter = o->valid_pct > 0 ? fc_random_splitter(o->valid_pct, seed)
                                                  : fc_grandparent_splitter(train, valid);
    /* fastai: the folders restrict get_image_files only when the split comes from them */
    fc_names folders = o->valid_pct > 0 ? (fc_names){0} : FC_NAMES(train, valid);
    fc_datablock *db = fc_datablock_new(.blocks = FC_BLOCKS(fc_image_block(), fc_category_block()),
                                        .extensions = FC_NAMES(".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif",
                                                               ".tiff", ".webp", ".ppm", ".pgm"),
                                        .folders = folders, .get_y = fc_parent_label(),
                                        .splitter = splitter, .item_tfms = o->item_tfms,
                                        .batch_tfms = o->batch_tfms);
    if (!db) return NULL;
    fc_dataloaders *dls = fc_datablock_dataloaders(db, path, .bs = o->bs, .seed = seed,
                                                   .n_workers = o->n_workers ? o->n_workers : fc_num_threads());
    fc_datablock_free(db);
    return dls;
}
